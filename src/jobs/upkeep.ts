// Periodic upkeep run by the job worker's cron.
import type { Db } from '../db.js';

/**
 * Deletes the records past their 24 hours. A key that is used again frees its own
 * expired record when it is claimed; this removes the rest (most keys are used once),
 * run hourly by the job worker (jobs/worker.ts).
 */
export async function purgeExpiredIdempotencyRecords(db: Db): Promise<number> {
  const { count } = await db.idempotencyRecord.deleteMany({ where: { expiresAt: { lt: new Date() } } });
  return count;
}
