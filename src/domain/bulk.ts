// Bulk updates: one patch for many tickets. Each ticket changes in its own
// updateTicket (its own change(), events, webhooks and emails, every rule applied),
// so one ticket that fails leaves the others changed, and reports why.
import { GraphQLError } from 'graphql';
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { badInput, conflict, notFound, unauthenticated } from '../errors.js';
import type { ApiKeyScope } from '../generated/prisma/enums.js';
import type { Logger } from '../logger.js';
import { addJob } from '../jobs/queue.js';
import { change, type Deps } from './change.js';
import { updateTicket, type UpdateTicketArgs } from './tickets.js';
import * as v from './validation.js';

/** At most this many IDs per request; a filter may choose up to BULK_FILTER_LIMIT tickets, worked through by a job. */
export const BULK_IDS_LIMIT = 100;
export const BULK_FILTER_LIMIT = 10_000;

const STATUSES = ['NEW', 'OPEN', 'IN_PROGRESS', 'PENDING', 'RESOLVED', 'CLOSED'] as const;

const BulkPatch = z
  .object({
    status: z.enum(STATUSES).optional(),
    priority: v.priority.optional(),
    category: v.category.nullish(),
    addTags: v.tags.optional(),
    removeTags: v.tags.optional(),
    /** A UUID, already decoded; null unassigns. */
    assigneeId: z.string().nullish(),
  })
  .strict();

export type BulkPatchArgs = z.input<typeof BulkPatch>;
type Patch = z.output<typeof BulkPatch>;

export type BulkError = { id: string; code: string; message: string };

/** The patch, checked: BAD_USER_INPUT when it changes nothing or breaks a rule (nothing is written). */
export function parsePatch(raw: BulkPatchArgs): Patch {
  const patch = v.parseInput(BulkPatch, raw, 'input.patch');
  const given = Object.entries(patch).filter(([, value]) => value !== undefined);
  if (given.length === 0) throw badInput([{ path: 'input.patch', message: 'must change at least one field' }]);
  return patch;
}

const argsOf = (patch: Patch): UpdateTicketArgs => ({
  status: patch.status,
  priority: patch.priority,
  category: patch.category,
  addTags: patch.addTags,
  removeTags: patch.removeTags,
  assigneeId: patch.assigneeId,
});

/** A failure as the caller sees it: the error's code and message; anything unexpected is masked and logged. */
function failure(id: string, err: unknown, log: Logger | undefined): BulkError {
  if (err instanceof GraphQLError && typeof err.extensions.code === 'string' && err.extensions.code !== 'INTERNAL_SERVER_ERROR') {
    return { id, code: err.extensions.code, message: err.message };
  }
  log?.error({ err, ticketId: id }, 'bulk update of a ticket failed');
  return { id, code: 'INTERNAL_SERVER_ERROR', message: 'Unexpected error' };
}

/** Updates each ticket in turn, each in its own change; the tickets updated and the failures, in the order of `ids`. */
export async function bulkUpdate(deps: Deps & { log?: Logger }, viewer: Viewer, ids: readonly string[], patch: Patch) {
  const updated: Awaited<ReturnType<typeof updateTicket>>[] = [];
  const errors: BulkError[] = [];
  for (const id of new Set(ids)) {
    try {
      updated.push(await updateTicket(deps, viewer, id, argsOf(patch)));
    } catch (err) {
      errors.push(failure(id, err, deps.log));
    }
  }
  return { updated, errors };
}

/** What a job needs of the viewer who asked, to change each ticket as them. */
type StoredViewer = Pick<Viewer, 'role' | 'teamId' | 'apiKeyId' | 'agentId' | 'name' | 'email'> & { scopes: ApiKeyScope[] };

const storedViewer = (viewer: Viewer): StoredViewer => ({
  role: viewer.role,
  teamId: viewer.teamId,
  apiKeyId: viewer.apiKeyId,
  agentId: viewer.agentId,
  name: viewer.name,
  email: viewer.email,
  scopes: [...viewer.scopes],
});

/**
 * Records a bulk update of the tickets a filter chose (their IDs, now) and queues the
 * job that works through them, in one change (so an Idempotency-Key starts one job).
 */
export async function startBulkJob(deps: Deps, viewer: Viewer, ticketIds: string[], patch: Patch) {
  if (ticketIds.length > BULK_FILTER_LIMIT) {
    throw badInput([{ path: 'input.filter', message: `matches more than ${BULK_FILTER_LIMIT} tickets: narrow it down` }]);
  }
  const teamId = viewer.teamId;
  if (!teamId) throw notFound('Team');
  return change(deps, async ({ tx }) => {
    const job = await tx.bulkJob.create({
      data: {
        teamId,
        viewer: storedViewer(viewer),
        patch,
        ticketIds,
        total: ticketIds.length,
        finishedAt: ticketIds.length === 0 ? new Date() : null,
      },
    });
    if (ticketIds.length > 0) await addJob(tx, 'tickets:bulk-update', { bulkJobId: job.id }, { jobKey: `bulk:${job.id}` });
    return job;
  });
}

/** Tells the job's subscribers (bulkJob subscriptions, on every process) to read it again. */
const notify = (deps: Deps, job: { id: string; teamId: string }) => deps.bus.publish({ kind: 'bulk-job', teamId: job.teamId, bulkJobId: job.id });

/**
 * The job: each ticket not yet counted, updated as the viewer who asked, its result
 * counted after its change commits. A retried job goes on from where it stopped; a
 * ticket whose change committed just before a crash is patched again, which changes
 * nothing more (the patch sets values, adds and removes tags). A cancelled job stops
 * before its next ticket: those changed stay changed, the rest are skipped.
 */
export async function runBulkJob(deps: Deps & { log?: Logger }, bulkJobId: string): Promise<void> {
  const job = await deps.db.bulkJob.findUnique({ where: { id: bulkJobId } });
  if (!job || job.finishedAt) return;
  const stored = job.viewer as unknown as StoredViewer;
  const viewer: Viewer = { ...stored, scopes: new Set(stored.scopes) };
  const patch = job.patch as Patch;
  // A key revoked or an agent removed since the request changes no more tickets.
  const valid = stored.apiKeyId
    ? (await deps.db.apiKey.count({ where: { id: stored.apiKeyId, revokedAt: null } })) > 0
    : (await deps.db.agent.count({ where: { id: stored.agentId ?? '00000000-0000-0000-0000-000000000000' } })) > 0;
  let cancelled = job.cancelledAt !== null;
  for (const id of job.ticketIds.slice(job.done + job.failed)) {
    if (cancelled) break;
    try {
      if (!valid) throw unauthenticated('The credential that asked for the bulk update is no longer valid');
      await updateTicket(deps, viewer, id, argsOf(patch));
      const counted = await deps.db.bulkJob.update({ where: { id: job.id }, data: { done: { increment: 1 } }, select: { cancelledAt: true } });
      cancelled = counted.cancelledAt !== null;
    } catch (err) {
      const error = failure(id, err, deps.log);
      const [counted] = await deps.db.$queryRaw<Array<{ cancelled: boolean }>>`
        UPDATE bulk_jobs SET failed = failed + 1, errors = errors || ${JSON.stringify([error])}::jsonb WHERE id = ${job.id}::uuid
        RETURNING cancelled_at IS NOT NULL AS cancelled`;
      cancelled = counted?.cancelled ?? true;
    }
    notify(deps, job);
  }
  await deps.db.bulkJob.update({ where: { id: job.id }, data: { finishedAt: new Date() } });
  notify(deps, job);
}

/**
 * Cancels a bulk job of the viewer's team: its job stops before the next ticket (the
 * one it may be updating finishes). Cancelling a cancelled job again answers it as it
 * is; a finished one is CONFLICT.
 */
export async function cancelBulkJob(deps: Deps, viewer: Viewer, bulkJobId: string) {
  const teamId = viewer.teamId;
  if (!teamId) throw notFound('BulkJob');
  const job = await change(deps, async ({ tx }) => {
    // Only while it runs: the worker may set finishedAt at the same time.
    const { count } = await tx.bulkJob.updateMany({ where: { id: bulkJobId, teamId, finishedAt: null, cancelledAt: null }, data: { cancelledAt: new Date() } });
    const found = await tx.bulkJob.findFirst({ where: { id: bulkJobId, teamId } });
    if (!found) throw notFound('BulkJob');
    if (count === 0 && found.cancelledAt === null) throw conflict('The bulk update has finished: there is nothing left to cancel');
    return found;
  });
  notify(deps, job);
  return job;
}

/** The job tasks of bulk updates, for the worker of a process (main.ts, worker-main.ts). */
export function bulkTasks(deps: Deps & { log?: Logger }) {
  return {
    'tickets:bulk-update': (payload: unknown) => runBulkJob(deps, (payload as { bulkJobId: string }).bulkJobId),
  };
}
