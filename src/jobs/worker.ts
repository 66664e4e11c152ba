// The job runner (graphile-worker): any server process can host it, or
// dedicated `npm run worker` processes. Jobs are claimed with SKIP LOCKED, so
// any number of runners share the queue.
import { Logger as WorkerLogger, run, type Runner } from 'graphile-worker';
import type { Db } from '../db.js';
import type { Logger } from '../logger.js';
import { addJob } from './queue.js';
import type { Email, Mailer } from './mail.js';
import type { WebhookJob } from './side-effects.js';
import { deliverWebhook } from './webhooks.js';
import type { UrlPolicy } from '../webhooks/url-policy.js';

export type WorkerOptions = {
  databaseUrl: string;
  db: Db;
  mailer: Mailer;
  log: Logger;
  concurrency: number;
  policy: UrlPolicy;
  retrySchedule: number[];
  /** How often to look for jobs scheduled in the future (retries). @default 2000 */
  pollIntervalMs?: number;
};

export async function startWorker(options: WorkerOptions): Promise<Runner> {
  const log = options.log.child({ component: 'worker' });
  return run({
    connectionString: options.databaseUrl,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: options.pollIntervalMs ?? 2000,
    logger: new WorkerLogger(() => (level, message) => {
      if (level === 'error') log.error(message);
      else if (level === 'warning') log.warn(message);
      else log.debug(message);
    }),
    taskList: {
      'email:send': async (payload) => {
        await options.mailer.send(payload as Email);
      },
      'webhook:deliver': async (payload) => {
        await deliverWebhook(
          {
            db: options.db,
            policy: options.policy,
            retrySchedule: options.retrySchedule,
            onDisabled: async (tx, endpoint) => {
              const team = await tx.team.findUniqueOrThrow({ where: { id: endpoint.teamId }, select: { supportEmail: true } });
              if (!team.supportEmail) return;
              const text = `The webhook endpoint ${endpoint.url} failed for three days and was disabled. Fix the receiver, then enable it again with updateWebhookEndpoint.`;
              const mail: Email = {
                to: team.supportEmail,
                subject: 'Webhook endpoint disabled',
                text,
                html: `<p>${text}</p>`,
                messageId: `<webhook-disabled-${endpoint.id}-${Date.now()}@ticketql>`,
              };
              await addJob(tx, 'email:send', mail, { maxAttempts: 10 });
            },
          },
          payload as WebhookJob,
        );
      },
    },
  });
}
