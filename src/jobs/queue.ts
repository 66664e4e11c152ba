// Jobs go into graphile-worker's PostgreSQL queue with plain SQL, inside the
// caller's transaction: they exist if and only if the change they belong to commits.
import type { Tx } from '../db.js';
import { Prisma } from '../generated/prisma/client.js';

export type TaskName = 'email:send' | 'webhook:deliver' | 'tickets:bulk-update';

export async function addJob(
  tx: Pick<Tx, '$executeRaw'>,
  task: TaskName,
  payload: unknown,
  /** queueName: jobs of one named queue run one at a time, in the order they were added. */
  options: { runAt?: Date; maxAttempts?: number; jobKey?: string; queueName?: string } = {},
): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.add_job(
    ${task},
    payload => ${JSON.stringify(payload)}::json,
    run_at => ${options.runAt ?? null}::timestamptz,
    max_attempts => ${options.maxAttempts ?? 5}::int,
    job_key => ${options.jobKey ?? null}::text,
    queue_name => ${options.queueName ?? null}::text
  )`;
}

export type JobSpec = {
  task: TaskName;
  payload: unknown;
  runAt?: Date;
  maxAttempts?: number;
  jobKey?: string;
  /** Jobs of one named queue run one at a time, in the order they were added. */
  queueName?: string;
};

/**
 * Several jobs queued as add_job would each, with graphile-worker's add_jobs, as a
 * SELECT that a change runs inside its last statement (domain/change.ts).
 */
export function addJobsSql(jobs: readonly JobSpec[]): Prisma.Sql {
  const specs = jobs.map((job) => ({
    identifier: job.task,
    payload: job.payload,
    run_at: job.runAt?.toISOString() ?? null,
    max_attempts: job.maxAttempts ?? 5,
    job_key: job.jobKey ?? null,
    queue_name: job.queueName ?? null,
  }));
  return Prisma.sql`SELECT 1 FROM graphile_worker.add_jobs(
    array(SELECT json_populate_recordset(null::graphile_worker.job_spec, ${JSON.stringify(specs)}::json))
  )`;
}
