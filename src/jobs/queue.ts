// Jobs go into graphile-worker's PostgreSQL queue with plain SQL, inside the
// caller's transaction: they exist if and only if the change they belong to commits.
import type { Tx } from '../db.js';

export type TaskName = 'email:send' | 'webhook:deliver' | 'tickets:bulk-update';

export async function addJob(
  tx: Pick<Tx, '$executeRaw'>,
  task: TaskName,
  payload: unknown,
  options: { runAt?: Date; maxAttempts?: number; jobKey?: string } = {},
): Promise<void> {
  await tx.$executeRaw`SELECT graphile_worker.add_job(
    ${task},
    payload => ${JSON.stringify(payload)}::json,
    run_at => ${options.runAt ?? null}::timestamptz,
    max_attempts => ${options.maxAttempts ?? 5}::int,
    job_key => ${options.jobKey ?? null}::text
  )`;
}
