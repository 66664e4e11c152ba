// A bulk job's progress for a subscriber: the job as it is now, then again each time its
// worker counts a ticket, finishes or is cancelled (notices on the bus, from whichever
// process runs it), until it has finished. Notices carry only the job's id: each is
// answered by reading the job again.
import type { Db } from '../db.js';
import { ClientError } from '../errors.js';
import type { BulkJob } from '../generated/prisma/client.js';
import { SlowConsumerError } from './bus.js';
import { endsFor, type StreamContext } from './streams.js';
import { within } from './within.js';

/** The subscriber's stream of the job (of `teamId`, which the caller has checked the viewer may see). */
export function bulkJobProgress(ctx: StreamContext, job: { id: string; teamId: string }): AsyncGenerator<BulkJob> {
  const subscription = ctx.bus.bulkJob(job.teamId, job.id);
  const stream = progressOf(ctx, job, subscription);
  // Ending the stream ends the bus subscription first, which wakes a stream waiting for a notice.
  const end = stream.return.bind(stream);
  return Object.assign(stream, {
    async return(value?: BulkJob) {
      await subscription.return();
      return end(value as never);
    },
  });
}

/**
 * How long the stream waits for a notice before it reads the job anyway: a notice is
 * fire and forget, and one published while Redis was away never comes.
 */
const REREAD_MS = 2_000;

const stateOf = (row: BulkJob) => [row.done, row.failed, row.cancelledAt?.getTime(), row.finishedAt?.getTime()].join('/');

async function* progressOf(
  ctx: StreamContext,
  job: { id: string; teamId: string },
  subscription: ReturnType<StreamContext['bus']['bulkJob']>,
): AsyncGenerator<BulkJob> {
  const read = (db: Db) => db.bulkJob.findFirst({ where: { id: job.id, teamId: job.teamId } });
  ctx.metrics.subscriptionsOpen.inc();
  try {
    // Listening before the first read: no notice can fall between the two.
    await subscription.ready;
    let last = '';
    let pending: ReturnType<typeof subscription.next> | undefined;
    for (;;) {
      const row = await read(ctx.db);
      if (!row) return; // its team was deleted
      // Several notices may have come while the last result was on its way: only a change is sent.
      if (stateOf(row) !== last) {
        last = stateOf(row);
        yield row;
      }
      if (row.finishedAt) return;
      pending ??= subscription.next();
      const next = await within(pending, REREAD_MS);
      if (!next) continue;
      pending = undefined;
      if (next.done || endsFor(ctx.viewer, next.value)) return;
    }
  } catch (err) {
    if (err instanceof SlowConsumerError) throw new ClientError('RATE_LIMITED', `Subscription ended: ${err.message}; subscribe again`);
    throw err;
  } finally {
    ctx.metrics.subscriptionsOpen.dec();
    await subscription.return();
  }
}
