// The job runner (graphile-worker): any server process can host it, or
// dedicated `npm run worker` processes. Jobs are claimed with SKIP LOCKED, so
// any number of runners share the queue.
import { EventEmitter } from 'node:events';
import { Logger as WorkerLogger, run, type WorkerEvents } from 'graphile-worker';
import pg from 'pg';
import type { Db } from '../db.js';
import type { Logger } from '../logger.js';
import type { AttachmentStore } from '../attachments/store.js';
import { purgeExpiredIdempotencyRecords, purgeExpiredUploads, purgeIdleJobQueues } from './upkeep.js';
import { addJob } from './queue.js';
import type { Email, Mailer } from './mail.js';
import type { WebhookJob } from './side-effects.js';
import { startHeartbeats } from './heartbeats.js';
import { deliverWebhook } from './webhooks.js';
import { releaseLostCompletions } from './lost-completions.js';
import type { UrlPolicy } from '../webhooks/url-policy.js';

export type WorkerOptions = {
  databaseUrl: string;
  db: Db;
  mailer: Mailer;
  log: Logger;
  concurrency: number;
  policy: UrlPolicy;
  retrySchedule: number[];
  /** Where attached files are: the hourly upkeep deletes uploads no message took. Unset: no such upkeep here. */
  store?: AttachmentStore;
  /** How often to look for jobs scheduled in the future (retries). @default 2000 */
  pollIntervalMs?: number;
  /**
   * Run only these kinds of job (e.g. processes that deliver webhooks but send no mail);
   * the others wait for a worker that runs them. @default every kind
   */
  only?: ReadonlyArray<'email:send' | 'webhook:deliver' | 'tickets:bulk-update'>;
  /**
   * Tasks defined above this layer (bulk updates run domain code), by name; `only`
   * leaves them out too. @default none
   */
  tasks?: Record<string, (payload: unknown) => Promise<void>>;
  /** How often the workers beat (jobs/heartbeats.ts). @default 10000 */
  heartbeatMs?: number;
};

export type JobWorker = {
  /** Lets running jobs finish, then closes the worker's connections. */
  stop(): Promise<void>;
};

/** The task list without the kinds of job left out by `only` (upkeep always stays). */
function onlyThese<T extends Record<string, unknown>>(only: WorkerOptions['only'], tasks: T): T {
  if (!only) return tasks;
  return Object.fromEntries(Object.entries(tasks).filter(([name]) => name.endsWith(':purge') || (only as readonly string[]).includes(name))) as T;
}

export async function startWorker(options: WorkerOptions): Promise<JobWorker> {
  const log = options.log.child({ component: 'worker' });
  // The worker's own pool, ended (and awaited) here after the runner stops: a pool
  // graphile-worker creates is ended without waiting and loses its error handler
  // first, so PostgreSQL stopping right after (npm start's shutdown) could crash the
  // process with an unhandled error from a closing idle connection.
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.concurrency + 2 });
  // A connection the server closes is dropped by pg (idle) or fails its next query
  // (checked out); the listeners only keep those errors from crashing the process.
  pool.on('error', (err) => log.warn({ err: err.message }, 'idle worker connection failed'));
  pool.on('connect', (client) => client.on('error', (err) => log.warn({ err: err.message }, 'worker connection failed')));
  const heartbeats = startHeartbeats(pool, log, { intervalMs: options.heartbeatMs ?? 10_000 });
  const events: WorkerEvents = new EventEmitter();
  // graphile-worker 0.17 locks jobs in the name of the worker pool.
  events.on('pool:create', ({ workerPool }) => heartbeats.add(workerPool.id));
  const stopReleasing = releaseLostCompletions(events, pool, log);
  const runner = await run({
    pgPool: pool,
    events,
    concurrency: options.concurrency,
    noHandleSignals: true,
    pollInterval: options.pollIntervalMs ?? 2000,
    // Hourly upkeep. graphile-worker's cron schedules each run once, whichever of the
    // processes hosting workers gets there first; a missed hour is not run late (no backfill).
    crontab: ['17 * * * * idempotency:purge ?max=1', '27 * * * * job-queues:purge ?max=1', ...(options.store ? ['47 * * * * attachments:purge ?max=1'] : [])].join('\n'),
    logger: new WorkerLogger(() => (level, message) => {
      if (level === 'error') log.error(message);
      else if (level === 'warning') log.warn(message);
      else log.debug(message);
    }),
    taskList: onlyThese(options.only, {
      ...options.tasks,
      'job-queues:purge': () => purgeIdleJobQueues(pool),
      'idempotency:purge': async () => {
        const purged = await purgeExpiredIdempotencyRecords(options.db);
        if (purged > 0) log.info({ purged }, 'expired idempotency records deleted');
      },
      ...(options.store && {
        'attachments:purge': async () => {
          const purged = await purgeExpiredUploads(options.db, options.store!);
          if (purged > 0) log.info({ purged }, 'uploads no message took deleted');
        },
      }),
      'email:send': async (payload) => {
        await options.mailer.send(payload as Email);
      },
      'webhook:deliver': async (payload, helpers) => {
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
          // A run before this one stopped without finishing (its worker died, or the
          // database went away): it may have reached the receiver unrecorded.
          helpers.job.attempts > 1,
        );
      },
    }),
  });
  return {
    async stop() {
      stopReleasing();
      await runner.stop();
      await heartbeats.stop();
      await pool.end();
    },
  };
}
