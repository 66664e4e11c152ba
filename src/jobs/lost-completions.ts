// graphile-worker 0.17 writes a finished job back (deletes it, or schedules its retry)
// without waiting for that write, and retries the write only for a few error codes.
// When PostgreSQL restarts, the write fails with a refused or terminated connection and
// is dropped: the job stays locked by its worker, which no longer runs it, until
// graphile-worker's own four-hour lock expiry. Each worker pool here releases such
// locks of its own within seconds, so the job runs again once the database is back (at
// least once: an email keeps its Message-ID, a webhook its webhook-id).
import type { WorkerEvents } from 'graphile-worker';
import type pg from 'pg';
import type { Logger } from '../logger.js';

/** How often a pool looks for its lost completions. */
const SWEEP_MS = 5_000;
/**
 * A job locked this long by this pool, and not running in it, lost its completion.
 * Between taking a job and starting it a worker needs milliseconds: this leaves a margin.
 */
const LOST_AFTER_SECONDS = 10;

/** Starts releasing the locks of jobs this process's pool took and no longer runs; call the result to stop. */
export function releaseLostCompletions(events: WorkerEvents, pool: pg.Pool, log: Logger): () => void {
  let poolId: string | undefined;
  const running = new Set<string>();
  events.on('pool:create', ({ workerPool }) => {
    poolId = workerPool.id;
  });
  events.on('job:start', ({ job }) => void running.add(job.id));
  // Emitted once the job has run and its write-back was sent, not when the write-back succeeded.
  events.on('job:complete', ({ job }) => void running.delete(job.id));

  let sweeping = false;
  const timer = setInterval(async () => {
    if (!poolId || sweeping) return;
    sweeping = true;
    try {
      const { rows } = await pool.query<{ id: string; task: string }>(
        // A job of a named queue (a ticket's mails) holds its queue too: released with it,
        // or the ticket's later mails would wait for the four-hour expiry.
        `WITH released AS (
           UPDATE graphile_worker._private_jobs AS j SET locked_at = NULL, locked_by = NULL
           FROM graphile_worker._private_tasks AS t
           WHERE t.id = j.task_id AND j.locked_by = $1 AND NOT (j.id = ANY($2::bigint[]))
             AND j.locked_at < now() - make_interval(secs => $3)
           RETURNING j.id, j.job_queue_id, t.identifier AS task
         ), queues AS (
           UPDATE graphile_worker._private_job_queues AS q SET locked_at = NULL, locked_by = NULL
           FROM released r WHERE q.id = r.job_queue_id AND q.locked_by = $1
         )
         SELECT id::text, task FROM released`,
        [poolId, [...running], LOST_AFTER_SECONDS],
      );
      for (const row of rows) log.warn({ job: row.id, task: row.task }, 'job released: its completion was lost (the database went away); it runs again');
    } catch {
      // The database is still away: the next sweep tries again.
    } finally {
      sweeping = false;
    }
  }, SWEEP_MS);
  timer.unref();
  return () => clearInterval(timer);
}
