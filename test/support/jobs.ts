// The job queue (graphile-worker's table in the suite's PostgreSQL), for tests that
// must know that nothing more will be sent. A change queues its emails and webhooks
// in its own transaction, a webhook attempt queues its retry before it completes, and
// a receiver has the mail or request before the job that sent it completes: once no
// job of theirs is left, everything the changes so far will ever send has arrived.
import pg from 'pg';
import { inject } from 'vitest';
import type { Db } from '../../src/db.js';
import { createMailer } from '../../src/jobs/mail.js';
import { startWorker, type JobWorker, type WorkerOptions } from '../../src/jobs/worker.js';
import { createLogger } from '../../src/logger.js';
import { leftover } from './leftovers.js';
import { eventually } from './wait.js';

/**
 * Waits for, then holds until the file ends, the suite's one turn at sending email. Test
 * files that read mail from an SMTP server of their own run a worker that sends every
 * email job on the shared database, theirs or not: two such files at once would each
 * send some of the other's mail to the wrong server, so they take turns (a PostgreSQL
 * advisory lock held by a connection of their own).
 */
export async function emailTurn(): Promise<void> {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  await client.query('SELECT pg_advisory_lock(hashtext($1))', ['ticketql-test-email-worker']);
  leftover('the turn at sending email', () => client.end());
}

/**
 * Waits until no job is left whose payload has `field` set to one of `values`:
 * `to` for emails (the recipient), `endpointId` for webhooks (the endpoint's UUID).
 */
export async function jobsDone(db: Db, field: 'to' | 'endpointId', values: string[], timeoutMs = 30_000): Promise<void> {
  let left: unknown[] = [];
  await eventually(
    async () => {
      left = await db.$queryRaw<unknown[]>`
        SELECT payload->>${field} AS "for", attempts, last_error AS "lastError" FROM graphile_worker._private_jobs
        WHERE payload->>${field} = ANY(${values}::text[])`;
      return left.length === 0;
    },
    { timeoutMs, what: () => `the jobs for ${values.join(', ')} to finish; left: ${JSON.stringify(left)}` },
  );
}

/**
 * A job worker for a test file on the suite's database: quick retries and polling, no
 * mail unless `mailer` is given (it would be sent nowhere), stopped when the file ends.
 * Give `only` unless the file reads mail (see emailTurn): a worker takes every file's jobs.
 */
export async function startTestWorker(options: Partial<WorkerOptions> & Pick<WorkerOptions, 'db'>): Promise<JobWorker> {
  const worker = await startWorker({
    databaseUrl: inject('databaseUrl'),
    mailer: createMailer({ from: 'Support <support@ticketql.test>', dataDir: '/nonexistent' }),
    log: createLogger('silent'),
    concurrency: 2,
    policy: { production: false },
    retrySchedule: [0, 0, 0],
    pollIntervalMs: 100,
    ...options,
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await worker.stop();
  };
  leftover('a job worker', stop);
  return { stop };
}
