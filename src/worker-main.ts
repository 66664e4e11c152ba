// `npm run worker`: a process that only runs jobs (emails, webhooks), for
// deployments that set WORKERS=0 on their API processes.
import { ConfigError, loadConfig } from './config.js';
import { createDb } from './db.js';
import { createMailer } from './jobs/mail.js';
import { startWorker } from './jobs/worker.js';
import { createLogger } from './logger.js';
import { openDatabase } from './platform/runtime.js';

async function main() {
  const config = loadConfig();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.removeAllListeners(signal);
  const log = createLogger(config.logLevel);
  const database = await openDatabase(config, { shareRunning: true });
  const db = createDb(database.url, Math.max(2, config.workers));
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir });
  const worker = await startWorker({
    databaseUrl: database.url,
    db,
    mailer,
    log,
    concurrency: Math.max(1, config.workers),
    policy: { production: config.nodeEnv === 'production' },
    retrySchedule: config.webhookRetrySchedule,
  });
  log.info({ concurrency: Math.max(1, config.workers) }, 'worker running');
  const stop = async () => {
    await worker.stop();
    mailer.close();
    await db.$disconnect();
    await database.stop();
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err) => {
  process.stderr.write(`ticketql worker: ${err instanceof ConfigError ? err.message : ((err as Error).stack ?? err)}\n`);
  process.exit(1);
});
