// Periodic upkeep run by the job worker's cron.
import { makeWorkerUtils } from 'graphile-worker';
import type pg from 'pg';
import type { AttachmentStore } from '../attachments/store.js';
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

/** Hours an upload waits for a message before purgeExpiredUploads deletes it. */
export const UPLOAD_HOURS = 24;

/** Deletes the uploads that waited more than 24 hours for a message, and their bytes (hourly, like the above). */
export async function purgeExpiredUploads(db: Db, store: AttachmentStore): Promise<number> {
  const before = new Date(Date.now() - UPLOAD_HOURS * 3600_000);
  const gone = await db.$queryRaw<Array<{ key: string }>>`
    DELETE FROM attachments WHERE message_id IS NULL AND created_at < ${before} RETURNING storage_key AS key`;
  await store.remove(gone.map((a) => a.key));
  return gone.length;
}

/**
 * Each ticket's mails have a named queue (jobs/side-effects.ts), so the queues add up:
 * graphile-worker's own clean-up deletes the ones no job waits in (hourly, like the above).
 */
export async function purgeIdleJobQueues(pool: pg.Pool): Promise<void> {
  const utils = await makeWorkerUtils({ pgPool: pool });
  try {
    await utils.cleanup({ tasks: ['GC_JOB_QUEUES'] });
  } finally {
    await utils.release();
  }
}
