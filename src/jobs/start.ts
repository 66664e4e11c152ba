// The job worker of a process (the server's WORKERS, or npm run worker), with its
// mailer, as one start-up step whose stop is registered with the process.
import { directoryStore } from '../attachments/store.js';
import type { Config } from '../config.js';
import type { Db } from '../db.js';
import type { Logger } from '../logger.js';
import type { Lifecycle } from '../platform/lifecycle.js';
import { createMailer } from './mail.js';
import { startWorker, type WorkerOptions } from './worker.js';

export async function startJobs(
  life: Lifecycle,
  config: Config,
  options: { databaseUrl: string; db: Db; log: Logger; concurrency: number; tasks?: WorkerOptions['tasks'] },
) {
  const store = directoryStore(config.attachmentsDir);
  const mailer = createMailer({ smtpUrl: config.smtpUrl, from: config.mailFrom, dataDir: config.dataDir, store });
  life.onStop('mailer', () => mailer.close());
  const worker = await life.step(() =>
    startWorker({
      ...options,
      mailer,
      store,
      policy: { production: config.nodeEnv === 'production' },
      retrySchedule: config.webhookRetrySchedule,
      heartbeatMs: config.jobHeartbeatMs,
    }),
  );
  life.onStop('job workers', () => worker.stop());
  return worker;
}
