// The rules of tickets and messages. Each operation validates first, then makes
// its change and writes its events in one transaction.
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { conflict, forbidden, badInput, notFound } from '../errors.js';
import type { Message, Prisma, Ticket } from '../generated/prisma/client.js';
import type { MessageSender, TicketPriority, TicketStatus } from '../generated/prisma/enums.js';
import { encodeId } from '../ids.js';
import { STAFF_ONLY_TICKET_FIELDS, visibleTicketsSql } from '../auth/visibility.js';
import { change, type ChangeScope, type Deps } from './change.js';
import type { Tx } from '../db.js';
import { attachUploads, checkRefs, storageKeysOfTicket, type AttachmentRef, type FilesDeps } from './attachments.js';
import { actorOf, diff, type Actor, type Changes } from './events.js';
import { deadlines } from './sla.js';
import * as v from './validation.js';

const STATUSES = ['NEW', 'OPEN', 'IN_PROGRESS', 'PENDING', 'RESOLVED', 'CLOSED'] as const;
const CLOSED_STATUSES: readonly TicketStatus[] = ['RESOLVED', 'CLOSED'];
const isClosed = (status: TicketStatus) => CLOSED_STATUSES.includes(status);

/** Fields of a ticket that an update can change, as listed in its events. */
const TRACKED_FIELDS = ['title', 'status', 'priority', 'category', 'tags', 'notes', 'metadata', 'assigneeId'] as const;

const CreateTicketInput = z.object({
  title: v.title,
  body: v.body.optional(),
  priority: v.priority.optional(),
  status: z.enum(STATUSES).optional(),
  category: v.category.nullish(),
  tags: v.tags.optional(),
  notes: v.notes.nullish(),
  metadata: v.metadata.optional(),
  customer: z.object({ email: v.email, name: v.name.nullish() }).optional(),
});

const UpdateTicketInput = z.object({
  title: v.title.optional(),
  status: z.enum(STATUSES).optional(),
  priority: v.priority.optional(),
  category: v.category.nullish(),
  tags: v.tags.optional(),
  /** Bulk updates: tags added to and removed from those the ticket has. */
  addTags: v.tags.optional(),
  removeTags: v.tags.optional(),
  notes: v.notes.nullish(),
  metadata: v.metadataPatch.optional(),
});

const AddMessageInput = z.object({
  body: v.body,
  isInternal: z.boolean().nullish(),
  sender: z.enum(['AGENT', 'CUSTOMER', 'SYSTEM']).nullish(),
  senderName: v.name.nullish(),
});

// Raw client values: checked by parseInput before use.
export type CreateTicketArgs = Omit<z.input<typeof CreateTicketInput>, 'metadata'> & {
  metadata?: unknown;
  /** UUIDs, already decoded from their IDs. */
  customerId?: string | null;
  assigneeId?: string | null;
  /** Uploads the first message takes (it needs a body). */
  attachments?: readonly AttachmentRef[];
};

/** A change that may take uploads or delete files: the attachments of the server, when it has them. */
type WithFiles = Deps & Partial<Pick<FilesDeps, 'attachments'>>;

export type UpdateTicketArgs = Omit<z.input<typeof UpdateTicketInput>, 'metadata'> & {
  metadata?: unknown;
  /** undefined: unchanged; null: unassign. */
  assigneeId?: string | null;
};

export type AddMessageArgs = z.input<typeof AddMessageInput> & { attachments?: readonly AttachmentRef[] };

async function slaTargetOf(tx: Tx, teamId: string, priority: TicketPriority) {
  return (await tx.slaTarget.findUnique({ where: { teamId_priority: { teamId, priority } } })) ?? undefined;
}

/**
 * The team's next ticket number (taken under the team row's lock, held until the
 * transaction ends) and its SLA target for the priority, in one hand-written statement:
 * every createTicket runs it, and two Prisma calls cost a round trip and about 1 ms of
 * CPU more.
 */
async function nextTicketNumber(tx: Tx, teamId: string, priority: TicketPriority) {
  const [row] = await tx.$queryRaw<Array<{ number: number; firstResponseMinutes: number | null; resolutionMinutes: number | null }>>`
    WITH seq AS (UPDATE teams SET ticket_seq = ticket_seq + 1, updated_at = now() WHERE id = ${teamId}::uuid RETURNING ticket_seq)
    SELECT seq.ticket_seq AS number, s.first_response_minutes AS "firstResponseMinutes", s.resolution_minutes AS "resolutionMinutes"
    FROM seq LEFT JOIN sla_targets s ON s.team_id = ${teamId}::uuid AND s.priority = ${priority}::"TicketPriority"`;
  if (!row) throw notFound('Team');
  const { number, firstResponseMinutes, resolutionMinutes } = row;
  const target = firstResponseMinutes === null || resolutionMinutes === null ? undefined : { firstResponseMinutes, resolutionMinutes };
  return { number, target };
}

async function assigneeIn(tx: Tx, teamId: string, agentId: string | null | undefined) {
  if (agentId == null) return agentId;
  const agent = await tx.agent.findFirst({ where: { id: agentId, teamId }, select: { id: true } });
  if (!agent) throw notFound('Agent');
  return agent.id;
}

/**
 * Locks the ticket row for the rest of the transaction and reads it, in one
 * hand-written statement (every ticket mutation starts here; a Prisma read after the
 * lock cost a round trip and about 1 ms of CPU more). NOT_FOUND when the viewer
 * cannot see it. The columns are the Ticket model's, in its field names.
 */
export async function lockTicket(tx: Tx, viewer: Viewer, id: string): Promise<Ticket> {
  const [ticket] = await tx.$queryRaw<Ticket[]>`
    SELECT id, team_id AS "teamId", number, title, status::text AS status, priority::text AS priority,
      category, tags, notes, metadata, customer_id AS "customerId", assignee_id AS "assigneeId",
      first_response_at AS "firstResponseAt", response_deadline AS "responseDeadline",
      resolution_deadline AS "resolutionDeadline", sla_paused_at AS "slaPausedAt", sla_paused_ms AS "slaPausedMs",
      closed_at AS "closedAt", message_count AS "messageCount", public_message_count AS "publicMessageCount",
      created_at AS "createdAt", updated_at AS "updatedAt", public_updated_at AS "publicUpdatedAt", merged_into_id AS "mergedIntoId"
    FROM tickets WHERE id = ${id}::uuid AND ${visibleTicketsSql(viewer)} FOR UPDATE`;
  if (!ticket) throw notFound('Ticket');
  return ticket;
}

/** The columns that follow a status change at `now`: closedAt and the SLA clock. */
export async function statusEffects(tx: Tx, ticket: Ticket, status: TicketStatus, priority: TicketPriority, now: Date) {
  const data: Prisma.TicketUncheckedUpdateInput = {};
  if (isClosed(status) && !isClosed(ticket.status)) data.closedAt = now;
  if (!isClosed(status) && isClosed(ticket.status)) data.closedAt = null;
  let pausedMs = ticket.slaPausedMs;
  if (status === 'PENDING' && ticket.status !== 'PENDING') data.slaPausedAt = now;
  if (status !== 'PENDING' && ticket.slaPausedAt) {
    pausedMs += now.getTime() - ticket.slaPausedAt.getTime();
    data.slaPausedAt = null;
    data.slaPausedMs = pausedMs;
  }
  if (pausedMs !== ticket.slaPausedMs || priority !== ticket.priority) {
    Object.assign(data, deadlines(ticket.createdAt, pausedMs, await slaTargetOf(tx, ticket.teamId, priority)));
  }
  return data;
}

/** The tags after an update: replaced by `tags`, then `addTags` added and `removeTags` taken away. */
function patchedTags(current: string[], input: { tags?: string[]; addTags?: string[]; removeTags?: string[] }): string[] {
  const removed = new Set(input.removeTags ?? []);
  const tags = [...(input.tags ?? current), ...(input.addTags ?? [])].filter((tag) => !removed.has(tag));
  return v.parseInput(v.tags, tags, 'input.tags');
}

/** Changes as the event log shows them: agents by their public ID. */
function publicChanges(changes: Changes): Changes {
  const agentId = (value: unknown) => (typeof value === 'string' ? encodeId('Agent', value) : null);
  const out = { ...changes };
  if (out.assigneeId) out.assigneeId = { old: agentId(out.assigneeId.old), new: agentId(out.assigneeId.new) };
  return out;
}

export async function createTicket(deps: WithFiles, viewer: Viewer, teamId: string, args: CreateTicketArgs) {
  const input = v.parseInput(CreateTicketInput, args);
  const refs = checkRefs(deps, args.attachments);
  if (refs.length > 0 && !input.body) throw badInput([{ path: 'input.body', message: 'is required with attachments: they go on the first message' }]);
  const isCustomer = viewer.role === 'CUSTOMER';
  if (!isCustomer && args.customerId && input.customer) {
    throw badInput([{ path: 'input.customer', message: 'give customerId or customer, not both' }]);
  }
  return change(deps, async ({ tx, record }) => {
    const now = new Date();
    const priority = input.priority ?? 'NORMAL';
    const { number, target } = await nextTicketNumber(tx, teamId, priority);

    let customer: { id: string; name: string | null } | null = null;
    if (isCustomer) {
      customer = await tx.customer.findUniqueOrThrow({ where: { id: viewer.customerId! }, select: { id: true, name: true } });
    } else if (args.customerId) {
      customer = await tx.customer.findFirst({ where: { id: args.customerId, teamId }, select: { id: true, name: true } });
      if (!customer) throw notFound('Customer');
    } else if (input.customer) {
      customer = await tx.customer.upsert({
        where: { teamId_email: { teamId, email: input.customer.email } },
        create: { teamId, email: input.customer.email, name: input.customer.name ?? null },
        update: {},
        select: { id: true, name: true },
      });
    }

    const status = isCustomer ? 'NEW' : (input.status ?? 'NEW');
    const ticket = await tx.ticket.create({
      data: {
        teamId,
        number,
        title: input.title,
        status,
        priority,
        category: input.category ?? null,
        tags: input.tags ?? [],
        notes: isCustomer ? null : (input.notes ?? null),
        metadata: isCustomer ? {} : (input.metadata ?? {}),
        customerId: customer?.id ?? null,
        assigneeId: isCustomer ? null : ((await assigneeIn(tx, teamId, args.assigneeId)) ?? null),
        closedAt: isClosed(status) ? now : null,
        slaPausedAt: status === 'PENDING' ? now : null,
        // The body, when given, is the first (public) message.
        messageCount: input.body ? 1 : 0,
        publicMessageCount: input.body ? 1 : 0,
        createdAt: now,
        updatedAt: now,
        publicUpdatedAt: now,
        ...deadlines(now, 0, target),
      },
    });
    let message: Message | undefined;
    if (input.body) {
      message = await tx.message.create({
        data: {
          ticketId: ticket.id,
          sender: 'CUSTOMER',
          authorCustomerId: customer?.id ?? null,
          senderName: customer?.name ?? null,
          body: input.body,
          createdAt: now,
        },
      });
    }
    const attachments = message ? await attachUploads(tx, deps, { teamId, messageId: message.id }, refs) : [];
    await record(
      { teamId, ticketId: ticket.id, customerId: ticket.customerId, type: 'CREATED', actor: actorOf(viewer), messageId: message?.id },
      { ticket, message, attachments, emailBytes: deps.attachments?.limits.emailBytes },
    );
    return ticket;
  });
}

export async function updateTicket(deps: Deps, viewer: Viewer, id: string, args: UpdateTicketArgs) {
  const input = v.parseInput(UpdateTicketInput, args);
  return change(deps, async ({ tx, record }) => {
    const ticket = await lockTicket(tx, viewer, id);
    if (ticket.mergedIntoId && input.status !== undefined && input.status !== ticket.status) {
      throw conflict('The ticket was merged into another: it stays CLOSED');
    }
    const now = new Date();
    const status = input.status ?? ticket.status;
    const priority = input.priority ?? ticket.priority;
    const data: Prisma.TicketUncheckedUpdateInput = {
      ...(input.title !== undefined && { title: input.title }),
      ...(input.status !== undefined && { status }),
      ...(input.priority !== undefined && { priority }),
      ...(input.category !== undefined && { category: input.category }),
      ...((input.tags !== undefined || input.addTags || input.removeTags) && { tags: patchedTags(ticket.tags, input) }),
      ...(input.notes !== undefined && { notes: input.notes }),
      ...(input.metadata !== undefined && {
        metadata: v.mergeMetadata(ticket.metadata as Record<string, string>, input.metadata),
      }),
      ...(args.assigneeId !== undefined && { assigneeId: await assigneeIn(tx, ticket.teamId, args.assigneeId) }),
    };
    const changes = publicChanges(diff(ticket, { ...ticket, ...data }, TRACKED_FIELDS));
    if (Object.keys(changes).length === 0) return ticket;

    Object.assign(data, await statusEffects(tx, ticket, status, priority, now), { updatedAt: now });
    // Staff-only edits alone leave the updatedAt that customers see as it was.
    if (Object.keys(changes).some((field) => !STAFF_ONLY_TICKET_FIELDS.has(field))) data.publicUpdatedAt = now;
    const updated = await tx.ticket.update({ where: { id }, data });
    const event = { teamId: ticket.teamId, ticketId: id, customerId: ticket.customerId, actor: actorOf(viewer) };
    const snapshot = { ticket: updated };
    await record({ ...event, type: 'UPDATED', changes }, snapshot);
    if (changes.status && isClosed(status) && !isClosed(ticket.status)) {
      await record({ ...event, type: 'CLOSED', changes: { status: changes.status } }, snapshot);
    }
    if (changes.assigneeId && updated.assigneeId) {
      await record({ ...event, type: 'ASSIGNED', changes: { assigneeId: changes.assigneeId } }, snapshot);
    }
    return updated;
  });
}

export async function deleteTicket(deps: WithFiles, viewer: Viewer, id: string) {
  const { ticket, files } = await change(deps, async ({ tx, record }) => {
    const ticket = await lockTicket(tx, viewer, id);
    const files = await storageKeysOfTicket(tx, id);
    await tx.ticket.delete({ where: { id } });
    await record(
      { teamId: ticket.teamId, ticketId: id, customerId: ticket.customerId, type: 'DELETED', actor: actorOf(viewer) },
      { ticket },
    );
    return { ticket, files };
  });
  // After the commit: the rows (and so every link) are gone with the ticket's messages.
  if (files.length > 0) await deps.attachments?.store.remove(files);
  return ticket;
}

/**
 * Inside the change that removes an agent: unassigns every ticket of theirs and records
 * each unassignment as updateTicket does (UPDATED, assigneeId old → null), so that
 * webhooks and live consoles learn of it. The caller holds the agent's row lock, so no
 * ticket can be assigned to them meanwhile and lose its assignee without an event.
 */
export async function unassignAgent({ tx, record }: ChangeScope, actor: Actor, teamId: string, agentId: string) {
  const now = new Date();
  const tickets = await tx.ticket.updateManyAndReturn({
    where: { teamId, assigneeId: agentId },
    data: { assigneeId: null, updatedAt: now, publicUpdatedAt: now },
  });
  const changes = publicChanges({ assigneeId: { old: agentId, new: null } });
  for (const ticket of tickets.sort((a, b) => a.number - b.number)) {
    await record({ teamId, ticketId: ticket.id, customerId: ticket.customerId, type: 'UPDATED', actor, changes }, { ticket });
  }
  return tickets;
}

export async function addMessage(deps: WithFiles, viewer: Viewer, ticketId: string, args: AddMessageArgs) {
  const input = v.parseInput(AddMessageInput, args);
  const refs = checkRefs(deps, args.attachments);
  const isCustomer = viewer.role === 'CUSTOMER';
  const isInternal = input.isInternal ?? false;
  if (isCustomer && (isInternal || (input.sender && input.sender !== 'CUSTOMER'))) {
    throw forbidden('Customers can only add public messages of their own');
  }
  const sender: MessageSender = isCustomer ? 'CUSTOMER' : (input.sender ?? 'AGENT');
  if (isInternal && sender === 'CUSTOMER') {
    throw badInput([{ path: 'input.isInternal', message: 'internal notes are written by agents or the system' }]);
  }

  return change(deps, async ({ tx, record }) => {
    const ticket = await lockTicket(tx, viewer, ticketId);
    if (!isInternal && ticket.status === 'CLOSED') {
      throw conflict('The ticket is closed: it takes no more public replies');
    }
    const now = new Date();

    let author: Prisma.MessageUncheckedCreateInput = { ticketId, sender, body: input.body, isInternal, createdAt: now };
    if (sender === 'AGENT' && viewer.agentId) {
      const agent = await tx.agent.findUniqueOrThrow({ where: { id: viewer.agentId }, select: { id: true, name: true, avatarUrl: true } });
      author = { ...author, authorAgentId: agent.id, senderName: agent.name, senderAvatarUrl: agent.avatarUrl };
    } else if (sender === 'CUSTOMER') {
      const customerId = viewer.customerId ?? ticket.customerId;
      const customer = customerId ? await tx.customer.findUnique({ where: { id: customerId }, select: { id: true, name: true } }) : null;
      author = { ...author, authorCustomerId: customer?.id ?? null, senderName: customer?.name ?? null };
    }
    // Staff may post on someone's behalf (an imported mail, a phone call); a customer
    // always posts under their own name.
    if (input.senderName && !isCustomer) author.senderName = input.senderName;
    const message = await tx.message.create({ data: author });
    const attachments = await attachUploads(tx, deps, { teamId: ticket.teamId, messageId: message.id }, refs);

    const data: Prisma.TicketUncheckedUpdateInput = {
      updatedAt: now,
      messageCount: { increment: 1 },
      ...(!isInternal && { publicMessageCount: { increment: 1 }, publicUpdatedAt: now }),
    };
    if (sender === 'AGENT' && !isInternal && !ticket.firstResponseAt) data.firstResponseAt = now;
    const reopens = sender === 'CUSTOMER' && !isInternal && (ticket.status === 'PENDING' || ticket.status === 'RESOLVED');
    if (reopens) Object.assign(data, { status: 'OPEN' }, await statusEffects(tx, ticket, 'OPEN', ticket.priority, now));
    const updated = await tx.ticket.update({ where: { id: ticketId }, data });

    const event = { teamId: ticket.teamId, ticketId, customerId: ticket.customerId, actor: actorOf(viewer) };
    await record(
      { ...event, type: 'MESSAGE_ADDED', messageId: message.id, isInternal },
      { ticket: updated, message, attachments, emailBytes: deps.attachments?.limits.emailBytes },
    );
    if (reopens) await record({ ...event, type: 'UPDATED', changes: diff(ticket, updated, ['status']) }, { ticket: updated });
    return { message, ticket: updated };
  });
}
