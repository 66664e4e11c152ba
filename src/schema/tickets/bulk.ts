import { NO_TEAM } from '../../auth/visibility.js';
import { isStaff } from '../../auth/viewer.js';
import * as bulk from '../../domain/bulk.js';
import { badInput, notFound } from '../../errors.js';
import type { BulkJob as BulkJobRow } from '../../generated/prisma/client.js';
import { bulkJobProgress } from '../../live/bulk-jobs.js';
import { encodeId } from '../../ids.js';
import { builder } from '../builder.js';
import { payloadCursor, readBack, writtenRow } from '../common/payloads.js';
import { staffRead, staffWrite } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { TicketPriorityEnum } from '../teams/types.js';
import { TicketFilter, whereOf } from './queries.js';
import { matchingIds, searchText } from './search.js';
import { Ticket, TicketStatusEnum } from './types.js';

const BulkUpdateError = builder.objectRef<bulk.BulkError>('BulkUpdateError').implement({
  description: 'A ticket of a bulk update that was not changed, and why.',
  fields: (t) => ({
    // Not `id`: this is no object of its own, and a normalized cache would take it for the ticket.
    ticketId: t.id({ description: 'The ticket (tkt_…) that was not changed.', resolve: (e) => encodeId('Ticket', e.id) }),
    code: t.exposeString('code', { description: 'The error code the ticket alone would have answered (NOT_FOUND, CONFLICT, BAD_USER_INPUT, …).' }),
    message: t.exposeString('message', { description: 'What went wrong.' }),
  }),
});

const BulkJobStatusEnum = builder.enumType('BulkJobStatus', {
  description: 'Where a bulk update by filter is.',
  values: {
    RUNNING: { description: 'Its tickets are being updated, or wait for a worker.' },
    FINISHED: { description: 'Every ticket has been worked through (see done, failed and errors).' },
    CANCELLED: { description: 'cancelBulkJob stopped it: tickets updated before stay updated, the others are skipped.' },
  } as const,
});

const statusOf = (job: Pick<BulkJobRow, 'cancelledAt' | 'finishedAt'>) => (job.cancelledAt ? 'CANCELLED' : job.finishedAt ? 'FINISHED' : 'RUNNING');

const BulkJob = builder.prismaNode('BulkJob', {
  description: 'A bulk update by filter, worked through ticket by ticket by a job (staff).',
  id: { field: 'id', description: 'The job ID (bulk_…).' },
  nullable: true,
  // Staff of the job's team only: anyone else gets null from node(id:).
  findUnique: (id, { viewer }) => ({ id, teamId: isStaff(viewer) ? (viewer.teamId ?? NO_TEAM) : NO_TEAM }),
  fields: (t) => ({
    total: t.exposeInt('total', { description: 'Number of tickets the filter chose when the update was asked for.' }),
    done: t.exposeInt('done', { description: 'Tickets updated so far.' }),
    failed: t.exposeInt('failed', { description: 'Tickets that could not be updated (see errors).' }),
    finished: t.boolean({ description: 'Whether every ticket has been worked through.', select: { finishedAt: true }, resolve: (j) => j.finishedAt !== null }),
    finishedAt: t.expose('finishedAt', { type: 'DateTime', nullable: true, description: 'When the last ticket was worked through, or the job stopped after a cancel.' }),
    status: t.field({
      type: BulkJobStatusEnum,
      description: 'RUNNING, FINISHED or CANCELLED (a cancelled job may still finish the ticket it was updating: see finished).',
      select: { cancelledAt: true, finishedAt: true },
      resolve: statusOf,
    }),
    skipped: t.int({
      description: 'Tickets left out because the job was cancelled (0 until it has stopped).',
      select: { total: true, done: true, failed: true, cancelledAt: true, finishedAt: true },
      resolve: (j) => (j.cancelledAt && j.finishedAt ? j.total - j.done - j.failed : 0),
    }),
    cancelledAt: t.expose('cancelledAt', { type: 'DateTime', nullable: true, description: 'When cancelBulkJob was asked (null if it was not).' }),
    errors: t.field({
      type: [BulkUpdateError],
      description: 'The tickets that could not be updated, and why.',
      select: { errors: true },
      resolve: (j) => j.errors as bulk.BulkError[],
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the update was asked for.' }),
  }),
});

builder.queryField('bulkJob', (t) =>
  t.prismaField({
    type: BulkJob,
    description: 'The progress of a bulk update by filter (staff).',
    authScopes: staffRead,
    args: { id: t.arg.id({ required: true, description: 'The job (bulk_… or UUID).' }) },
    resolve: async (query, _root, { id }, { db, viewer }) => {
      const job = await db.bulkJob.findFirst({ ...query, where: { id: uuidOf('BulkJob', id), teamId: viewer.teamId ?? NO_TEAM } });
      if (!job) throw notFound('BulkJob');
      return job;
    },
  }),
);

builder.subscriptionField('bulkJob', (t) =>
  t.field({
    type: BulkJob,
    description:
      'The progress of a bulk update by filter (staff, as the bulkJob query): the job at once, then each time it counts a ticket, ' +
      'is cancelled or finishes, from whichever process runs it; ends when it has finished.',
    authScopes: staffRead,
    args: { id: t.arg.id({ required: true, description: 'The job (bulk_… or UUID).' }) },
    subscribe: async (_root, { id }, ctx) => {
      const job = await ctx.db.bulkJob.findFirst({ where: { id: uuidOf('BulkJob', id), teamId: ctx.viewer.teamId ?? NO_TEAM }, select: { id: true, teamId: true } });
      if (!job) throw notFound('BulkJob');
      return bulkJobProgress(ctx, job);
    },
    // The state the stream read, not the job as it is by the time the result is built.
    resolve: (job, _args, ctx, info) => writtenRow('BulkJob', job, ctx, info),
  }),
);

builder.relayMutationField(
  'cancelBulkJob',
  {
    description: 'The bulk update to cancel.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The job (bulk_… or UUID).' }) }),
  },
  {
    description:
      'Cancels a bulk update by filter (staff with WRITE): its job stops before its next ticket. Tickets updated so far stay updated; the rest are skipped. ' +
      'Cancelling a cancelled job answers it as it is; a finished one is CONFLICT.',
    authScopes: staffWrite,
    resolve: async (_root, { input }, ctx) => ({ job: await bulk.cancelBulkJob(ctx, ctx.viewer, uuidOf('BulkJob', input.id, 'input.id')) }),
  },
  {
    description: 'The job, cancelled.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      bulkJob: t.field({ type: BulkJob, description: 'The job: status CANCELLED; finished once the ticket it was updating is done.', resolve: (r) => r.job }),
    }),
  },
);

const BulkTicketPatch = builder.inputType('BulkTicketPatch', {
  description: 'What a bulk update changes on every ticket; at least one field.',
  fields: (t) => ({
    status: t.field({ type: TicketStatusEnum, description: 'New status.' }),
    priority: t.field({ type: TicketPriorityEnum, description: 'New priority; SLA deadlines are recomputed.' }),
    assigneeId: t.id({ description: 'Assign to this agent; null unassigns.' }),
    addTags: t.stringList({ description: 'Tags to add (the ticket keeps at most 20).' }),
    removeTags: t.stringList({ description: 'Tags to remove.' }),
    category: t.string({ description: 'New category; null clears it.' }),
  }),
});

builder.relayMutationField(
  'bulkUpdateTickets',
  {
    description: 'The tickets, by IDs (at most 100) or by filter, and the patch.',
    inputFields: (t) => ({
      ids: t.idList({ description: 'The tickets (tkt_… or UUIDs), at most 100: updated now, each on its own.' }),
      filter: t.field({
        type: TicketFilter,
        description: 'Instead of ids: every ticket matching it now (at most 10,000), updated by a job; follow it with bulkJob(id).',
      }),
      patch: t.field({ type: BulkTicketPatch, required: true, description: 'What to change.' }),
    }),
  },
  {
    description:
      'Changes many tickets (staff). Each ticket changes in its own transaction with its own events, webhooks and emails: one that fails leaves the others changed and is listed in errors.',
    authScopes: staffWrite,
    resolve: async (_root, { input }, ctx) => {
      const { db, viewer } = ctx;
      const given = (input.ids ? 1 : 0) + (input.filter ? 1 : 0);
      if (given !== 1) throw badInput([{ path: 'input', message: 'give either ids or filter' }]);
      const patchInput = input.patch;
      const patch = bulk.parsePatch({
        status: patchInput.status ?? undefined,
        priority: patchInput.priority ?? undefined,
        category: patchInput.category,
        addTags: patchInput.addTags ?? undefined,
        removeTags: patchInput.removeTags ?? undefined,
        assigneeId: patchInput.assigneeId == null ? patchInput.assigneeId : uuidOf('Agent', patchInput.assigneeId, 'input.patch.assigneeId'),
      });
      if (input.ids) {
        if (input.ids.length > bulk.BULK_IDS_LIMIT) {
          throw badInput([{ path: 'input.ids', message: `at most ${bulk.BULK_IDS_LIMIT} IDs: use filter for more` }]);
        }
        const ids = input.ids.map((id, i) => uuidOf('Ticket', id, `input.ids.${i}`));
        return { ...(await bulk.bulkUpdate(ctx, viewer, ids, patch)), job: null };
      }
      const filter = input.filter!;
      const text = searchText(filter);
      const ids = text
        ? await matchingIds(db, viewer, filter, text, bulk.BULK_FILTER_LIMIT)
        : (
            await db.ticket.findMany({
              where: { AND: whereOf(viewer, filter) },
              select: { id: true },
              orderBy: { number: 'asc' },
              take: bulk.BULK_FILTER_LIMIT + 1,
            })
          ).map((t) => t.id);
      const job = await bulk.startBulkJob(ctx, viewer, ids, patch);
      return { updated: [], errors: [], job };
    },
  },
  {
    description: 'What the bulk update did, or the job that does it.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      updated: t.field({
        type: [Ticket],
        ...readBack,
        description: 'By ids: the tickets changed, after the change (empty for a filter: see job).',
        resolve: (r) => r.updated,
      }),
      updatedIds: t.idList({ description: 'IDs of the tickets changed.', resolve: (r) => r.updated.map((ticket) => encodeId('Ticket', ticket.id)) }),
      errors: t.field({ type: [BulkUpdateError], description: 'By ids: the tickets not changed, and why.', resolve: (r) => r.errors }),
      job: t.field({
        type: BulkJob,
        nullable: true,
        description: 'By filter: the job that updates the tickets, with its progress (null for ids).',
        resolve: (r) => r.job,
      }),
    }),
  },
);
