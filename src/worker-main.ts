// `npm run worker`: a process that only runs jobs (emails, webhooks), for
// deployments that set WORKERS=0 on their API processes. It stops like the server
// (lifecycle.ts): running jobs finish, then the database goes.
import { ConfigError, loadConfig, type Config } from './config.js';
import { createDb } from './db.js';
import { bulkTasks } from './domain/bulk.js';
import { startJobs } from './jobs/start.js';
import { createEventBus } from './live/bus.js';
import { connectRedis } from './live/redis.js';
import { createLogger } from './logger.js';
import { runProcess, StartupError } from './platform/lifecycle.js';
import { openDatabase } from './platform/runtime.js';

let config: Config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`ticketql worker: ${err.message}\n`);
  process.exit(1);
}
const log = createLogger(config.logLevel);
const concurrency = Math.max(1, config.workers);

runProcess({ name: 'ticketql worker', log, stepTimeoutMs: config.shutdownTimeoutMs + 5_000 }, async (life) => {
  const database = await life.step(() =>
    openDatabase(config, { shareRunning: true, progress: life.progress }).catch((err: Error) => {
      throw new StartupError(`cannot start the database: ${err.message}`);
    }),
  );
  life.onStop('database', () => database.stop());
  const db = createDb(database.url, Math.max(2, config.workers));
  life.onStop('database pool', () => db.$disconnect());
  // Bulk updates change tickets here: their live events reach the servers through Redis.
  const redis = config.redisUrl ? connectRedis(config.redisUrl, log) : undefined;
  if (redis) life.onStop('redis', () => redis.close());
  const bus = createEventBus({ redis, onError: (err) => log.warn({ err: (err as Error).message }, 'live event not published') });
  await startJobs(life, config, { databaseUrl: database.url, db, log, concurrency, tasks: bulkTasks({ db, bus, log }) });
  log.info({ concurrency }, 'worker running');
  life.progress(`ticketql worker is running: ${concurrency} job${concurrency === 1 ? '' : 's'} at once; Ctrl-C or SIGTERM stops it`);
});
