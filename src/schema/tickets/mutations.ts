import { isStaff } from '../../auth/viewer.js';
import * as tickets from '../../domain/tickets.js';
import { forbidden, notFound, unauthenticated, badInput } from '../../errors.js';
import { encodeId } from '../../ids.js';
import { AttachmentInput } from '../attachments/types.js';
import { attachmentRefs } from '../attachments/mutations.js';
import { builder } from '../builder.js';
import { readBack, payloadCursor, writtenRow } from '../common/payloads.js';
import { staffDelete, staffWrite } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { TicketPriorityEnum } from '../teams/types.js';
import { Ticket, TicketStatusEnum } from './types.js';

const CustomerInput = builder.inputType('CustomerInput', {
  description: 'A customer found by email in the team, or created.',
  fields: (t) => ({
    email: t.string({ required: true, description: 'Email address (matched case-insensitively).' }),
    name: t.string({ description: 'Display name, used when the customer is created.' }),
  }),
});

const optionalId = (value: string | null | undefined, type: Parameters<typeof uuidOf>[0], path: string) =>
  value == null ? value : uuidOf(type, value, path);

builder.relayMutationField(
  'createTicket',
  {
    description: 'What the new ticket says.',
    inputFields: (t) => ({
      title: t.string({ required: true, description: 'Subject line, 1–200 characters.' }),
      body: t.string({ description: 'The first message, from the customer (1–50,000 characters).' }),
      priority: t.field({ type: TicketPriorityEnum, description: 'Default NORMAL.' }),
      status: t.field({ type: TicketStatusEnum, description: 'Default NEW (staff only).' }),
      category: t.string({ description: 'Lowercase slug such as "bug".' }),
      tags: t.stringList({ description: 'Tags: trimmed, lowercased, de-duplicated; at most 20.' }),
      notes: t.string({ description: 'Internal notes (staff only).' }),
      metadata: t.field({ type: 'JSON', description: 'String values, at most 50 keys (staff only).' }),
      customerId: t.id({ description: 'An existing customer of the team.' }),
      customer: t.field({ type: CustomerInput, description: 'Find or create the customer by email.' }),
      assigneeId: t.id({ description: 'Assign to this agent (staff only).' }),
      teamSlug: t.string({ description: 'The team to submit to, for anonymous callers (public ticket forms).' }),
      attachments: t.field({
        type: [AttachmentInput],
        description: 'Files for the first message (needs body): files of this multipart request, or upload ids.',
      }),
    }),
  },
  {
    description: 'Opens a ticket. Anonymous callers may submit to a team that accepts public tickets, giving customer.email.',
    resolve: async (_root, { input }, ctx) => {
      const { db, viewer, clientIp, limits } = ctx;
      let teamId = viewer.teamId;
      if (viewer.role === 'ANONYMOUS') {
        if (!input.teamSlug) throw unauthenticated('A credential, or teamSlug for a public submission, is required');
        if (!input.customer?.email) throw badInput([{ path: 'input.customer.email', message: 'is required for a public submission' }]);
        await limits.publicTickets.consume(clientIp);
        const team = await db.team.findUnique({ where: { slug: input.teamSlug }, select: { id: true, acceptsPublicTickets: true } });
        // A team that takes no public tickets answers as one that does not exist: an
        // anonymous caller learns nothing about which slugs are in use.
        if (!team?.acceptsPublicTickets) throw notFound('Team');
        teamId = team.id;
      } else if (!viewer.scopes.has('WRITE')) {
        throw forbidden('This credential lacks the WRITE scope');
      }
      const staff = isStaff(viewer);
      const ticket = await tickets.createTicket(ctx, viewer, teamId!, {
        title: input.title,
        body: input.body ?? undefined,
        priority: input.priority ?? undefined,
        status: staff ? (input.status ?? undefined) : undefined,
        category: input.category,
        tags: input.tags ?? undefined,
        notes: staff ? input.notes : undefined,
        metadata: staff ? (input.metadata ?? undefined) : undefined,
        customer: input.customer ?? undefined,
        customerId: optionalId(input.customerId, 'Customer', 'input.customerId'),
        assigneeId: staff ? optionalId(input.assigneeId, 'Agent', 'input.assigneeId') : undefined,
        attachments: attachmentRefs(viewer, input.attachments),
      });
      return { ticket, ticketId: encodeId('Ticket', ticket.id) };
    },
  },
  {
    description: 'The created ticket.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      ticketId: t.id({ description: 'ID of the new ticket (tkt_…).', resolve: (r) => r.ticketId }),
      ticket: t.field({
        type: Ticket,
        nullable: true,
        authScopes: { scope: 'READ' },
        unauthorizedResolver: () => null,
        description: 'The new ticket; null for anonymous callers and credentials without the READ scope, who get its ID only.',
        resolve: (r, _args, ctx, info) => (ctx.viewer.role === 'ANONYMOUS' ? null : writtenRow('Ticket', r.ticket, ctx, info)),
      }),
    }),
  },
);

builder.relayMutationField(
  'updateTicket',
  {
    description: 'The fields to change; the others stay as they are.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The ticket (tkt_… or UUID).' }),
      title: t.string({ description: 'New subject line.' }),
      status: t.field({
        type: TicketStatusEnum,
        description: 'New status. RESOLVED or CLOSED sets closedAt; back to an open status clears it.',
      }),
      priority: t.field({ type: TicketPriorityEnum, description: 'New priority; SLA deadlines are recomputed.' }),
      category: t.string({ description: 'New category; null clears it.' }),
      tags: t.stringList({ description: 'Replaces the tags.' }),
      notes: t.string({ description: 'Replaces the internal notes; null clears them.' }),
      metadata: t.field({ type: 'JSON', description: 'Merged into the metadata; a key set to null is removed.' }),
      assigneeId: t.id({ description: 'Assign to this agent; null unassigns.' }),
    }),
  },
  {
    description: 'Changes a ticket (staff).',
    authScopes: staffWrite,
    resolve: async (_root, { input }, ctx) => {
      const ticket = await tickets.updateTicket(ctx, ctx.viewer, uuidOf('Ticket', input.id, 'input.id'), {
        title: input.title ?? undefined,
        status: input.status ?? undefined,
        priority: input.priority ?? undefined,
        category: input.category,
        tags: input.tags ?? undefined,
        notes: input.notes,
        metadata: input.metadata ?? undefined,
        assigneeId: optionalId(input.assigneeId, 'Agent', 'input.assigneeId'),
      });
      return { ticket };
    },
  },
  {
    description: 'The changed ticket.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      ticket: t.field({
        type: Ticket,
        ...readBack,
        description: 'The ticket after the change.',
        resolve: (r, _args, ctx, info) => writtenRow('Ticket', r.ticket, ctx, info),
      }),
    }),
  },
);

builder.relayMutationField(
  'deleteTicket',
  {
    description: 'The ticket to delete.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The ticket (tkt_… or UUID).' }) }),
  },
  {
    description: 'Deletes a ticket and its messages (admins, or keys with DELETE).',
    authScopes: staffDelete,
    resolve: async (_root, { input }, ctx) => {
      const ticket = await tickets.deleteTicket(ctx, ctx.viewer, uuidOf('Ticket', input.id, 'input.id'));
      return { deletedTicketId: encodeId('Ticket', ticket.id) };
    },
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      deletedTicketId: t.id({ description: 'ID of the deleted ticket.', resolve: (r) => r.deletedTicketId }),
    }),
  },
);
