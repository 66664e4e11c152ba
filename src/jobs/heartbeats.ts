// Jobs of a process that died are run again within a minute, not four hours later.
// graphile-worker frees a job locked by a worker that never finished only after 4 h
// (its locks carry no liveness). Each process's workers therefore beat in a table, and
// every process (and the next to start) unlocks, with graphile-worker's own
// force_unlock_workers, the jobs of workers whose beats stopped. Every process that
// runs jobs must run this code: a worker that does not beat is taken for dead once its
// job has been locked longer than `staleMs`.
import type pg from 'pg';
import type { Logger } from '../logger.js';

export type HeartbeatOptions = {
  /** How often a process's workers beat and look for dead workers' jobs. @default 10000 */
  intervalMs: number;
};

export type Heartbeats = {
  /** A worker (pool) of this process, by the id its locks carry, from its creation on. */
  add(workerId: string): void;
  /** Stops beating and forgets this process's workers (their jobs were released by the runner). */
  stop(): Promise<void>;
};

export function startHeartbeats(pool: pg.Pool, log: Logger, options: HeartbeatOptions): Heartbeats {
  const workers = new Set<string>();
  // Three missed beats: a busy event loop or a slow database may delay one.
  const staleMs = options.intervalMs * 3;
  let stopped = false;
  let running: Promise<void> | undefined;

  /** Since when this process's beats have been getting through; unset after a failed one. */
  let beatingSince: number | undefined;

  async function beat() {
    try {
      await pool.query(
        `INSERT INTO job_worker_heartbeats (worker_id, beat_at) SELECT unnest($1::text[]), now()
         ON CONFLICT (worker_id) DO UPDATE SET beat_at = now()`,
        [[...workers]],
      );
    } catch (err) {
      beatingSince = undefined;
      throw err;
    }
    beatingSince ??= Date.now();
    // After an outage every process's beats are stale at once: others are judged only
    // once they too have had three beats' time to get through again.
    if (Date.now() - beatingSince < staleMs) return;
    // A job locked longer than staleMs by a worker with no beat within staleMs is a dead
    // worker's: a new worker beats when it is created (add), and then once an interval,
    // long before a job it took could look stale.
    const { rows } = await pool.query<{ worker_ids: string[] | null }>(
      `WITH locked AS (
         SELECT locked_by FROM graphile_worker._private_jobs WHERE locked_by IS NOT NULL AND locked_at < now() - $1 * interval '1 millisecond'
         UNION
         SELECT locked_by FROM graphile_worker._private_job_queues WHERE locked_by IS NOT NULL AND locked_at < now() - $1 * interval '1 millisecond'
       ), dead AS (
         SELECT locked_by FROM locked l WHERE l.locked_by <> ALL($2::text[]) AND NOT EXISTS (
           SELECT 1 FROM job_worker_heartbeats h WHERE h.worker_id = l.locked_by AND h.beat_at > now() - $1 * interval '1 millisecond')
       ), unlocked AS (
         SELECT graphile_worker.force_unlock_workers(array_agg(locked_by)) FROM dead HAVING count(*) > 0
       )
       SELECT (SELECT array_agg(locked_by) FROM dead) AS worker_ids FROM unlocked`,
      // Never this process's own workers: they are alive, however late its beats are.
      [staleMs, [...workers]],
    );
    const dead = rows[0]?.worker_ids;
    if (dead?.length) log.warn({ workerIds: dead }, 'jobs of job workers that stopped beating were unlocked, to run again');
    await pool.query(`DELETE FROM job_worker_heartbeats WHERE beat_at < now() - interval '1 day'`);
  }

  /** A worker came while a beat was on its way (without it): the next beat goes at once. */
  let again = false;
  function tick() {
    if (stopped) return;
    again = false;
    running = beat()
      .catch((err: Error) => log.warn({ err: err.message }, 'job worker heartbeat failed; trying again'))
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, again ? 0 : options.intervalMs);
      });
  }
  let timer: NodeJS.Timeout | undefined = setTimeout(tick, 0);

  return {
    add(workerId) {
      workers.add(workerId);
      // A new pool beats at once rather than at the next tick: until its first beat, it has
      // no row, and a process killed before then would leave no trace of its workers.
      if (stopped) return;
      if (running) {
        again = true;
        return;
      }
      clearTimeout(timer);
      tick();
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      if (workers.size === 0) return;
      await pool
        .query('DELETE FROM job_worker_heartbeats WHERE worker_id = ANY($1::text[])', [[...workers]])
        .catch((err: Error) => log.warn({ err: err.message }, 'job worker heartbeats not removed'));
    },
  };
}
