// `npm start`: configuration, database (embedded by default), migrations, server.
// What stops, and in which order, is the reverse of what starts here (lifecycle.ts).
import { buildApp } from './app.js';
import { directoryStore } from './attachments/store.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDb } from './db.js';
import { migrate } from './platform/migrate.js';
import { bulkTasks } from './domain/bulk.js';
import { startJobs } from './jobs/start.js';
import { createLogger } from './logger.js';
import { loadManifest } from './plugins/persisted-operations.js';
import { createEventBus } from './live/bus.js';
import { connectRedis } from './live/redis.js';
import { ensureDemoTeam } from './domain/demo.js';
import { runProcess, StartupError } from './platform/lifecycle.js';
import { jwtSecretFor, openDatabase } from './platform/runtime.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`ticketql: ${err.message}\n`);
  process.exit(1);
}
const log = createLogger(config.logLevel);

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

runProcess({ name: 'ticketql', log, stepTimeoutMs: config.shutdownTimeoutMs + 5_000 }, async (life) => {
  const database = await life.step(() =>
    openDatabase(config, { progress: life.progress }).catch((err: Error) => {
      throw new StartupError(`cannot start the database: ${err.message}`);
    }),
  );
  life.onStop('database', () => database.stop());

  if (config.migrateOnStart) {
    await life.step(() =>
      migrate(database.url, {
        onPending: (names) => life.progress(`applying ${plural(names.length, 'migration')} …`),
      }).catch((err: Error) => {
        const reachable = !/ECONNREFUSED|ENOTFOUND|timeout|P1001/i.test(err.message);
        throw new StartupError(
          reachable
            ? err.message
            : `cannot reach the database at DATABASE_URL (${err.message}); check the URL and that PostgreSQL is running`,
        );
      }),
    );
  }

  const db = createDb(database.url, config.databasePoolSize);
  life.onStop('database pool', () => db.$disconnect());
  const devKey = await life.step(async () => {
    try {
      await db.$queryRaw`SELECT 1`;
      if (!database.embedded) return undefined;
      if ((await db.team.count()) === 0) life.progress('creating the demo team …');
      return await ensureDemoTeam(db, config.dataDir);
    } catch (err) {
      throw new StartupError(`cannot use the database: ${(err as Error).message}`);
    }
  });

  const redis = config.redisUrl ? connectRedis(config.redisUrl, log) : undefined;
  if (redis) life.onStop('redis', () => redis.close());
  const bus = createEventBus({
    redis,
    onError: (err) => log.warn({ err: (err as Error).message }, 'live event not published'),
  });

  if (config.workers > 0) {
    await startJobs(life, config, { databaseUrl: database.url, db, log, concurrency: config.workers, tasks: bulkTasks({ db, bus, log }) });
  }

  // The OpenTelemetry SDK is loaded only when traces are exported: it is a few MB of heap.
  const tracing = config.otlpEndpoint ? (await import('./platform/tracing.js')).createTracing(config.otlpEndpoint) : undefined;
  if (tracing) life.onStop('tracing', () => tracing.shutdown());

  const app = buildApp({
    db,
    plugins: tracing ? [tracing.plugin] : [],
    log,
    bus,
    redis: redis?.publish,
    jwtSecret: jwtSecretFor(config),
    attachments: { ...config.attachments, store: directoryStore(config.attachmentsDir) },
    shutdownTimeoutMs: config.shutdownTimeoutMs,
    presenceTtlMs: config.presenceTtlMs,
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
  const url = await life.step(() =>
    app.start(config.port, config.host).catch((err: NodeJS.ErrnoException) => {
      throw new StartupError(
        err.code === 'EADDRINUSE'
          ? `port ${config.port} is already in use; stop the other process or set PORT`
          : `cannot listen on ${config.host}:${config.port}: ${err.message}`,
      );
    }),
  );
  // Open requests finish and WebSockets close with 1001 before anything below goes.
  life.onStop('HTTP and WebSocket server', () => app.stop());

  const lines = [
    '',
    `  ticketql is running`,
    `  GraphiQL:  ${url}/graphql`,
    `  Database:  ${database.embedded ? `embedded PostgreSQL in ${config.dataDir}` : 'DATABASE_URL'}`,
    `  Jobs:      ${config.workers > 0 ? `${config.workers} workers in this process` : 'none here (WORKERS=0): run npm run worker'}; mail ${config.smtpUrl ? 'via SMTP_URL' : `as .eml files in ${config.dataDir}/mail`}`,
    `  Live:      ${redis ? 'Redis (REDIS_URL): events reach every process' : 'in-process events (set REDIS_URL to run several processes)'}`,
  ];
  if (devKey) {
    lines.push(
      `  Dev key:   ${devKey}  (team "demo", all scopes)`,
      `  In GraphiQL, add the header  {"Authorization": "Bearer ${devKey}"}`,
    );
  }
  lines.push(`  Stop:      Ctrl-C or SIGTERM (open requests get ${config.shutdownTimeoutMs / 1000} s to finish)`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
});
