// The rules of tickets and messages. Each operation validates first, then makes
// its change and writes its events in one transaction.
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { conflict, forbidden, badInput, notFound } from '../errors.js';
import { Prisma, type Message, type Ticket } from '../generated/prisma/client.js';
import type { MessageSender, TicketPriority, TicketStatus } from '../generated/prisma/enums.js';
import { encodeId } from '../ids.js';
import { STAFF_ONLY_TICKET_FIELDS, visibleTicketsSql } from '../auth/visibility.js';
import { change, type ChangeScope, type Deps } from './change.js';
import { query, queryPrepared, type Db, type Tx } from '../db.js';
import { attachUploads, checkRefs, storageKeysOfTicket, type AttachmentRef, type FilesDeps } from './attachments.js';
import { actorOf, diff, type Actor, type Changes } from './events.js';
import { enabledEndpointsJson, type EndpointChoice } from '../jobs/side-effects.js';
import { v7 as uuidv7 } from 'uuid';
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

async function assigneeIn(tx: Tx, teamId: string, agentId: string | null | undefined) {
  if (agentId == null) return agentId;
  const agent = await tx.agent.findFirst({ where: { id: agentId, teamId }, select: { id: true } });
  if (!agent) throw notFound('Agent');
  return agent.id;
}

/** Each field of the Ticket model, as a column of the table or CTE `t`. */
const TICKET_COLUMN_OF = {
  id: 't.id', teamId: 't.team_id', number: 't.number', title: 't.title', status: 't.status::text', priority: 't.priority::text',
  category: 't.category', tags: 't.tags', notes: 't.notes', metadata: 't.metadata', customerId: 't.customer_id', assigneeId: 't.assignee_id',
  firstResponseAt: 't.first_response_at', responseDeadline: 't.response_deadline', resolutionDeadline: 't.resolution_deadline',
  slaPausedAt: 't.sla_paused_at', slaPausedMs: 't.sla_paused_ms', closedAt: 't.closed_at', messageCount: 't.message_count',
  publicMessageCount: 't.public_message_count', createdAt: 't.created_at', updatedAt: 't.updated_at', publicUpdatedAt: 't.public_updated_at',
  mergedIntoId: 't.merged_into_id',
} as const satisfies Record<Prisma.TicketScalarFieldEnum, string>;

type TicketField = keyof typeof TICKET_COLUMN_OF;

/** Whether `field` is a field of the Ticket model that is a column. */
export const isTicketColumn = (field: string): field is TicketField => Object.hasOwn(TICKET_COLUMN_OF, field);

/** These fields of the ticket `t`, in their field names. */
export const ticketColumns = (fields: readonly TicketField[]) =>
  Prisma.raw(fields.map((field) => `${TICKET_COLUMN_OF[field]} AS "${field}"`).join(', '));

/** The Ticket model's columns, in its field names, of the table or CTE `t`. */
const TICKET_COLUMNS = ticketColumns(Object.keys(TICKET_COLUMN_OF) as TicketField[]);

/**
 * What the side effects of a ticket's change read of its team (the webhook endpoints,
 * the team's name and inbox, the customer's address), as columns of the statement that
 * starts the change: `tm` is the team, `c` the ticket's customer.
 */
const TEAM_FACT_COLUMNS = Prisma.sql`tm.name AS "teamName", tm.support_email AS "supportEmail",
  c.email AS "customerEmail", c.name AS "customerName",
  ${enabledEndpointsJson(Prisma.raw('tm.id'))} AS endpoints`;

type TeamFactRow = {
  teamName: string;
  supportEmail: string | null;
  customerEmail: string | null;
  customerName: string | null;
  endpoints: EndpointChoice[];
};

function knownFacts(teamId: string, customerId: string | null, row: TeamFactRow) {
  const customers = new Map(customerId && row.customerEmail ? [[customerId, { email: row.customerEmail, name: row.customerName }]] : []);
  return { teamId, endpoints: row.endpoints, team: { name: row.teamName, supportEmail: row.supportEmail }, customers };
}

/**
 * Locks the ticket row for the rest of the transaction and reads it, in one
 * hand-written statement (every ticket mutation starts here; a Prisma read after the
 * lock cost a round trip and about 1 ms of CPU more). NOT_FOUND when the viewer
 * cannot see it.
 */
export async function lockTicket(tx: Tx, viewer: Viewer, id: string): Promise<Ticket> {
  const [ticket] = await query<Ticket>(tx, Prisma.sql`
    SELECT ${TICKET_COLUMNS} FROM tickets t WHERE t.id = ${id}::uuid AND ${visibleTicketsSql(viewer, 't')} FOR UPDATE`);
  if (!ticket) throw notFound('Ticket');
  return ticket;
}

/**
 * The ticket `id` as the viewer may see it, or undefined: the same columns as lockTicket,
 * read without a lock by a prepared statement on the pool (a ticket by ID is the read
 * that consoles make most; Prisma's findFirst cost about twice its CPU).
 */
export async function visibleTicket(db: Db, viewer: Viewer, id: string): Promise<Ticket | undefined> {
  const [ticket] = await queryPrepared<Ticket>(db, Prisma.sql`SELECT ${TICKET_COLUMNS} FROM tickets t WHERE t.id = ${id}::uuid AND ${visibleTicketsSql(viewer, 't')}`);
  return ticket;
}

/**
 * The columns of a ticket that a reply writes: its counters and its times. A reply
 * that read the ticket without a lock adds to the counters in its last statement and
 * keeps its times from going back; every other column is in REPLY_UNCHANGED_COLUMNS.
 */
export const REPLY_WRITTEN_COLUMNS = ['message_count', 'public_message_count', 'updated_at', 'public_updated_at'] as const;

/**
 * The columns of a ticket that a reply reads and leaves as they are (first_response_at
 * among them: a reply sets it only while it is null): a reply that read the ticket
 * without a lock writes it only if none of them has changed since (a test checks that
 * these and the written ones are every column of the table, but the ID and the search
 * vector kept from the title).
 */
export const REPLY_UNCHANGED_COLUMNS = [
  'team_id', 'number', 'title', 'status', 'priority', 'category', 'tags', 'notes', 'metadata', 'customer_id', 'assignee_id',
  'first_response_at', 'response_deadline', 'resolution_deadline', 'sla_paused_at', 'sla_paused_ms', 'closed_at', 'created_at', 'merged_into_id',
] as const;

/** REPLY_UNCHANGED_COLUMNS of the ticket `t`, as one value. */
const REPLY_FINGERPRINT = Prisma.raw(`md5(row(${REPLY_UNCHANGED_COLUMNS.map((c) => `t.${c}`).join(', ')})::text)`);

/**
 * The ticket for a reply, with what the reply needs besides in the same statement: the
 * author (the viewer's agent), the team's facts for the side effects, the customer,
 * and the fingerprint of what the reply leaves unchanged. Locked for the rest of the
 * transaction when `lock` is set (as lockTicket).
 */
async function ticketForReply(tx: Tx, viewer: Viewer, id: string, lock: boolean) {
  const [row] = await query<Ticket & TeamFactRow & { agentName: string | null; agentAvatarUrl: string | null; fingerprint: string }>(tx, Prisma.sql`
    SELECT ${TICKET_COLUMNS}, ${TEAM_FACT_COLUMNS}, a.name AS "agentName", a.avatar_url AS "agentAvatarUrl", ${REPLY_FINGERPRINT} AS fingerprint
    FROM tickets t JOIN teams tm ON tm.id = t.team_id
      LEFT JOIN customers c ON c.id = t.customer_id
      LEFT JOIN agents a ON a.id = ${viewer.agentId ?? null}::uuid
    WHERE t.id = ${id}::uuid AND ${visibleTicketsSql(viewer, 't')} ${lock ? Prisma.sql`FOR UPDATE OF t` : Prisma.empty}`);
  if (!row) throw notFound('Ticket');
  const { teamName, supportEmail, customerEmail, customerName, endpoints, agentName, agentAvatarUrl, fingerprint, ...ticket } = row;
  const facts = knownFacts(ticket.teamId, ticket.customerId, { teamName, supportEmail, customerEmail, customerName, endpoints });
  const agent = viewer.agentId && agentName !== null ? { id: viewer.agentId, name: agentName, avatarUrl: agentAvatarUrl } : null;
  return { ticket: ticket as Ticket, facts, agent, fingerprint };
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
  return change(deps, async ({ tx, record, write, know }) => {
    const now = new Date();
    const priority = input.priority ?? 'NORMAL';
    const status = isCustomer ? 'NEW' : (input.status ?? 'NEW');
    const assigneeId = isCustomer ? null : (args.assigneeId ?? null);
    // Who the ticket is for: the customer who writes, one of the team's, or one found or created by email.
    const customer: Prisma.Sql = isCustomer
      ? Prisma.sql`SELECT id, name, email FROM customers WHERE id = ${viewer.customerId}::uuid AND team_id = ${teamId}::uuid`
      : args.customerId
        ? Prisma.sql`SELECT id, name, email FROM customers WHERE id = ${args.customerId}::uuid AND team_id = ${teamId}::uuid`
        : input.customer
          ? Prisma.sql`INSERT INTO customers (id, team_id, email, name, created_at, updated_at)
              VALUES (${uuidv7()}::uuid, ${teamId}::uuid, ${input.customer.email}, ${input.customer.name ?? null}, ${now}, ${now})
              ON CONFLICT (team_id, email) DO UPDATE SET email = EXCLUDED.email RETURNING id, name, email`
          : Prisma.sql`SELECT NULL::uuid AS id, NULL::text AS name, NULL::text AS email WHERE false`;
    const wantsCustomer = isCustomer || Boolean(args.customerId);
    const messageCount = input.body ? 1 : 0;
    const minutes = (column: string) => Prisma.sql`${now}::timestamptz + make_interval(mins => sla.${Prisma.raw(column)})`;
    // One statement takes the team's next number (under the team row's lock, held until
    // the transaction ends), its SLA target, the customer and the assignee, inserts the
    // ticket and reads what its side effects need: the number and deadlines are the
    // database's, and every createTicket runs it.
    const [row] = await query<Partial<Ticket> & TeamFactRow & { customerFound: boolean; assigneeFound: boolean }>(tx, Prisma.sql`
      WITH tm AS (UPDATE teams SET ticket_seq = ticket_seq + 1, updated_at = now() WHERE id = ${teamId}::uuid RETURNING id, ticket_seq, name, support_email),
      c AS (${customer}),
      a AS (SELECT id FROM agents WHERE id = ${assigneeId}::uuid AND team_id = ${teamId}::uuid),
      sla AS (SELECT first_response_minutes, resolution_minutes FROM sla_targets WHERE team_id = ${teamId}::uuid AND priority = ${priority}::"TicketPriority"),
      t AS (
        INSERT INTO tickets (id, team_id, number, title, status, priority, category, tags, notes, metadata, customer_id, assignee_id,
          closed_at, sla_paused_at, message_count, public_message_count, created_at, updated_at, public_updated_at,
          response_deadline, resolution_deadline)
        SELECT ${uuidv7()}::uuid, tm.id, tm.ticket_seq, ${input.title}, ${status}::"TicketStatus", ${priority}::"TicketPriority",
          ${input.category ?? null}, ${input.tags ?? []}::text[], ${isCustomer ? null : (input.notes ?? null)},
          ${JSON.stringify(isCustomer ? {} : (input.metadata ?? {}))}::jsonb, (SELECT id FROM c), (SELECT id FROM a),
          ${isClosed(status) ? now : null}::timestamptz, ${status === 'PENDING' ? now : null}::timestamptz, ${messageCount}, ${messageCount},
          ${now}, ${now}, ${now}, ${minutes('first_response_minutes')}, ${minutes('resolution_minutes')}
        FROM tm LEFT JOIN sla ON true
        WHERE (${wantsCustomer} IS FALSE OR EXISTS (SELECT FROM c)) AND (${assigneeId}::uuid IS NULL OR EXISTS (SELECT FROM a))
        RETURNING *)
      SELECT ${TICKET_COLUMNS}, ${TEAM_FACT_COLUMNS},
        EXISTS (SELECT FROM c) AS "customerFound", EXISTS (SELECT FROM a) AS "assigneeFound"
      FROM tm LEFT JOIN t ON true LEFT JOIN c ON true`);
    if (!row) throw notFound('Team');
    if (wantsCustomer && !row.customerFound) throw notFound('Customer');
    if (assigneeId && !row.assigneeFound) throw notFound('Agent');
    const { teamName, supportEmail, customerEmail, customerName, endpoints, customerFound: _c, assigneeFound: _a, ...inserted } = row;
    const ticket = inserted as Ticket;
    know(knownFacts(teamId, ticket.customerId, { teamName, supportEmail, customerEmail, customerName, endpoints }));

    let message: Message | undefined;
    if (input.body) {
      message = {
        id: uuidv7(),
        ticketId: ticket.id,
        teamId,
        sender: 'CUSTOMER',
        authorAgentId: null,
        authorCustomerId: ticket.customerId,
        senderName: customerName,
        senderAvatarUrl: null,
        body: input.body,
        isInternal: false,
        createdAt: now,
      };
      if (refs.length > 0) await tx.$executeRaw(insertMessage(message));
      else write(insertMessage(message));
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

  // A customer's public reply may reopen the ticket: it locks the ticket first. Any
  // other reply changes only the ticket's counters and times, so it reads the ticket
  // without a lock and takes the lock in its last statement (a guard: the change runs
  // again, locking, if the ticket changed otherwise in between). Replies to one ticket
  // then wait for each other only while PostgreSQL runs that statement, not while this
  // process decides what they write; replies written at the same moment may commit in
  // another order than their times (docs/api.md: the event log is the order of commits).
  // A reply with files inserts its message before its last statement (the files need
  // it): it locks first too, so that a ticket deleted meanwhile is NOT_FOUND.
  const locksFirst = (sender === 'CUSTOMER' && !isInternal) || refs.length > 0;
  return change(deps, async ({ tx, record, write, guard, know, optimistic }) => {
    const { ticket, facts, agent, fingerprint } = await ticketForReply(tx, viewer, ticketId, !optimistic || locksFirst);
    know(facts);
    if (!isInternal && ticket.status === 'CLOSED') {
      throw conflict('The ticket is closed: it takes no more public replies');
    }
    // Never before the ticket's last change (another process's clock may run ahead):
    // its messages then follow one another in time as they are committed.
    const now = new Date(Math.max(Date.now(), ticket.updatedAt.getTime()));

    const message: Message = {
      id: uuidv7(),
      ticketId,
      teamId: ticket.teamId,
      sender,
      authorAgentId: null,
      authorCustomerId: null,
      senderName: null,
      senderAvatarUrl: null,
      body: input.body,
      isInternal,
      createdAt: now,
    };
    if (sender === 'AGENT' && viewer.agentId) {
      if (!agent) throw notFound('Agent');
      Object.assign(message, { authorAgentId: agent.id, senderName: agent.name, senderAvatarUrl: agent.avatarUrl });
    } else if (sender === 'CUSTOMER') {
      // A customer can see only their own tickets: the author is the ticket's customer.
      const customer = ticket.customerId ? facts.customers.get(ticket.customerId) : undefined;
      Object.assign(message, { authorCustomerId: customer ? ticket.customerId : null, senderName: customer?.name ?? null });
    }
    // Staff may post on someone's behalf (an imported mail, a phone call); a customer
    // always posts under their own name.
    if (input.senderName && !isCustomer) message.senderName = input.senderName;
    // Files are attached to the message by a statement that needs the message row.
    if (refs.length > 0) await tx.$executeRaw(insertMessage(message));
    else write(insertMessage(message));
    const attachments = await attachUploads(tx, deps, { teamId: ticket.teamId, messageId: message.id }, refs);

    const firstResponse = sender === 'AGENT' && !isInternal && !ticket.firstResponseAt;
    const reopens = sender === 'CUSTOMER' && !isInternal && (ticket.status === 'PENDING' || ticket.status === 'RESOLVED');
    let updated: Ticket;
    if (reopens) {
      const data: Prisma.TicketUncheckedUpdateInput = {
        updatedAt: now,
        messageCount: { increment: 1 },
        publicMessageCount: { increment: 1 },
        publicUpdatedAt: now,
        status: 'OPEN',
        ...(await statusEffects(tx, ticket, 'OPEN', ticket.priority, now)),
      };
      updated = await tx.ticket.update({ where: { id: ticketId }, data });
    } else {
      const ticketAfter = {
        ...ticket,
        updatedAt: now,
        messageCount: ticket.messageCount + 1,
        publicMessageCount: ticket.publicMessageCount + (isInternal ? 0 : 1),
        publicUpdatedAt: isInternal ? ticket.publicUpdatedAt : now,
        firstResponseAt: firstResponse ? now : ticket.firstResponseAt,
      };
      updated = ticketAfter;
      // Only if nothing but other replies changed the ticket since it was read. Replies
      // that came in between add to the counters, and may have been later than `now`
      // (the ticket's times never go back): what the ticket is after this reply comes
      // back from the statement.
      guard(
        Prisma.sql`UPDATE tickets t SET updated_at = greatest(t.updated_at, ${now}), message_count = t.message_count + 1,
          public_message_count = t.public_message_count + ${isInternal ? 0 : 1},
          public_updated_at = ${isInternal ? Prisma.raw('t.public_updated_at') : Prisma.sql`greatest(t.public_updated_at, ${now})`},
          first_response_at = ${ticketAfter.firstResponseAt}
        WHERE t.id = ${ticketId}::uuid AND ${REPLY_FINGERPRINT} = ${fingerprint}
        RETURNING t.message_count AS "messageCount", t.public_message_count AS "publicMessageCount",
          t.updated_at AS "updatedAt", t.public_updated_at AS "publicUpdatedAt"`,
        (row) => {
          ticketAfter.messageCount = row.messageCount as number;
          ticketAfter.publicMessageCount = row.publicMessageCount as number;
          ticketAfter.updatedAt = new Date(row.updatedAt as string);
          ticketAfter.publicUpdatedAt = new Date(row.publicUpdatedAt as string);
        },
      );
    }

    const event = { teamId: ticket.teamId, ticketId, customerId: ticket.customerId, actor: actorOf(viewer) };
    await record(
      { ...event, type: 'MESSAGE_ADDED', messageId: message.id, isInternal },
      { ticket: updated, message, attachments, emailBytes: deps.attachments?.limits.emailBytes },
    );
    if (reopens) await record({ ...event, type: 'UPDATED', changes: diff(ticket, updated, ['status']) }, { ticket: updated });
    return { message, ticket: updated };
  });
}

/** The statement that inserts `message` as it is (its id and time are taken by the caller). */
function insertMessage(m: Message): Prisma.Sql {
  return Prisma.sql`INSERT INTO messages (id, ticket_id, sender, author_agent_id, author_customer_id, sender_name, sender_avatar_url, body, is_internal, created_at)
    VALUES (${m.id}::uuid, ${m.ticketId}::uuid, ${m.sender}::"MessageSender", ${m.authorAgentId}::uuid, ${m.authorCustomerId}::uuid,
      ${m.senderName}, ${m.senderAvatarUrl}, ${m.body}, ${m.isInternal}, ${m.createdAt})`;
}
