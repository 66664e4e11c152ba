import { brandWithType, createContextCache } from '@pothos/core';
import type { Actor } from '../../domain/events.js';
import { encodeId } from '../../ids.js';
import type { Context } from '../../context.js';
import type { Db } from '../../db.js';
import {
  visibleAgents,
  visibleApiKeys,
  visibleChangedFields,
  visibleCustomers,
  visibleEvents,
  visibleMessages,
  visibleTickets,
} from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { batchById } from '../common/batch.js';
import { Agent } from '../agents/types.js';
import { ApiKey } from '../api-keys/types.js';
import { Customer } from '../customers/types.js';
import { Message } from '../messages/types.js';

export const TicketEventTypeEnum = builder.enumType('TicketEventType', {
  description: 'What happened to a ticket.',
  values: {
    CREATED: { description: 'The ticket was created.' },
    UPDATED: { description: 'Fields of the ticket changed (see changedFields).' },
    CLOSED: { description: 'The status became RESOLVED or CLOSED.' },
    ASSIGNED: { description: 'The ticket was assigned to an agent.' },
    MESSAGE_ADDED: { description: 'A message was added.' },
    DELETED: { description: 'The ticket was deleted.' },
    MERGED: { description: 'The ticket was merged into another (see Ticket.mergedInto): it is CLOSED now.' },
  } as const,
});

export const TicketEventFilter = builder.inputType('TicketEventFilter', {
  description: 'Which events to receive.',
  fields: (t) => ({
    ticketId: t.id({ description: 'Only the events of this ticket.' }),
    types: t.field({ type: [TicketEventTypeEnum], description: 'Only events of these types.' }),
  }),
});

const ActorKindEnum = builder.enumType('ActorKind', {
  description: 'What kind of credential made a change.',
  values: {
    AGENT: { description: 'A staff member with a token.' },
    CUSTOMER: { description: 'A customer.' },
    API_KEY: { description: 'An API key.' },
    ANONYMOUS: { description: 'An anonymous submitter.' },
  } as const,
});

const ACTOR_KINDS = { agent: 'AGENT', customer: 'CUSTOMER', apiKey: 'API_KEY', anonymous: 'ANONYMOUS' } as const;
const ACTOR_ID_TYPES = { agent: 'Agent', customer: 'Customer', apiKey: 'ApiKey' } as const;

const actorIdType = (a: Actor) => (a.id && a.kind !== 'anonymous' ? ACTOR_ID_TYPES[a.kind] : undefined);
type ActorType = NonNullable<ReturnType<typeof actorIdType>>;
const ACTOR_REFS = { Agent, Customer, ApiKey } as const;

const READ_ACTORS: Record<ActorType, (ctx: Context, ids: string[]) => Promise<Array<{ id: string }>>> = {
  Agent: ({ db, viewer }, ids) => db.agent.findMany({ where: { id: { in: ids }, AND: [visibleAgents(viewer)] } }),
  Customer: ({ db, viewer }, ids) => db.customer.findMany({ where: { id: { in: ids }, AND: [visibleCustomers(viewer)] } }),
  ApiKey: ({ db, viewer }, ids) => db.apiKey.findMany({ where: { id: { in: ids }, AND: [visibleApiKeys(viewer)] } }),
};

type Waiting = Map<string, { resolve(row: object | null): void; reject(err: unknown): void }>;

/**
 * The actors' objects of one operation: one query per type for a page of events,
 * and each agent read once however many of the events they made.
 */
const actorNodes = createContextCache((ctx: Context) => {
  const loaded = new Map<string, Promise<object | null>>();
  let pending: Map<ActorType, Waiting> | undefined;
  const flush = (batch: Map<ActorType, Waiting>) => {
    for (const [type, waiting] of batch) {
      READ_ACTORS[type](ctx, [...waiting.keys()]).then(
        (rows) => {
          const byId = new Map(rows.map((row) => [row.id, row]));
          for (const [id, { resolve }] of waiting) {
            const row = byId.get(id) ?? null;
            if (row) brandWithType(row, ACTOR_REFS[type]);
            resolve(row);
          }
        },
        (err: unknown) => {
          for (const { reject } of waiting.values()) reject(err);
        },
      );
    }
  };
  return (type: ActorType, id: string): Promise<object | null> => {
    const key = `${type}:${id}`;
    let row = loaded.get(key);
    if (!row) {
      if (!pending) {
        const batch = (pending = new Map());
        // After the resolvers of sibling events have run and asked for theirs.
        setImmediate(() => {
          pending = undefined;
          flush(batch);
        });
      }
      const waiting: Waiting = pending.get(type) ?? new Map();
      pending.set(type, waiting);
      row = new Promise((resolve, reject) => waiting.set(id, { resolve, reject }));
      loaded.set(key, row);
    }
    return row;
  };
});

// Not a node and no `id`: normalized caches key objects by id (Relay) or by
// __typename and id (Apollo, urql), so an actor carrying the agent's ID was merged
// into the agent, or into the other snapshots of the same agent, and a name of the
// past replaced the current one.
const ActorRef = builder.objectRef<Actor>('Actor').implement({
  description:
    'Who made a change, as recorded when it was made. Not an object of its own: `actorId` names the agent, customer or API key, and `node` is that object as it is now.',
  fields: (t) => ({
    kind: t.field({ type: ActorKindEnum, description: 'The kind of credential.', resolve: (a) => ACTOR_KINDS[a.kind] }),
    actorId: t.id({
      nullable: true,
      description: 'ID of the agent (agt_…), customer (cus_…) or API key (key_…); null for anonymous submitters.',
      resolve: (a) => {
        const type = actorIdType(a);
        return type ? encodeId(type, a.id!) : null;
      },
    }),
    name: t.string({ nullable: true, description: 'Name at the time of the change.', resolve: (a) => a.name }),
    node: t.field({
      type: builder.nodeInterfaceRef(),
      nullable: true,
      description:
        'The agent, customer or API key as it is now, with what the caller may see of it (as `node(id: actorId)` answers); null once deleted, for anonymous submitters, and for API keys unless the caller is an admin.',
      resolve: (a, _args, ctx) => {
        const type = actorIdType(a);
        if (!type || (type === 'ApiKey' && !ctx.viewer.scopes.has('ADMIN'))) return null;
        return actorNodes(ctx)(type, a.id!);
      },
    }),
  }),
});

// A page of the event log asks for its events' tickets and messages together.
const ticketsById = batchById(({ db, viewer }, ids, query) =>
  db.ticket.findMany({ ...(query as object), where: { id: { in: ids }, AND: [visibleTickets(viewer)] } }),
);
const messagesById = batchById(({ db, viewer }, ids, query) =>
  db.message.findMany({ ...(query as object), where: { id: { in: ids }, AND: [visibleMessages(viewer)] } }),
);

const fullEvent = (db: Db, id: string) => db.ticketEvent.findUniqueOrThrow({ where: { id } });

export const TicketEvent = builder.prismaNode('TicketEvent', {
  description: 'One change in the history of a ticket.',
  id: { field: 'id', description: 'The event ID (evt_…).' },
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, AND: [visibleEvents(viewer)] }),
  fields: (t) => ({
    cursor: t.string({
      description: "Position in the team's event log (1, 2, 3, …): pass it as `after` to catch up from here.",
      resolve: (e) => e.seq.toString(),
    }),
    type: t.expose('type', { type: TicketEventTypeEnum, description: 'What happened.' }),
    ticketId: t.id({ description: 'The ticket (tkt_…), even after it was deleted.', resolve: (e) => encodeId('Ticket', e.ticketId) }),
    ticket: t.prismaField({
      type: 'Ticket',
      nullable: true,
      description: 'The ticket as it is now; null once deleted.',
      resolve: (query, e, _args, ctx) => ticketsById(ctx)(e.ticketId, query),
    }),
    message: t.prismaField({
      type: Message,
      nullable: true,
      description: 'The message, for MESSAGE_ADDED.',
      resolve: (query, e, _args, ctx) => {
        // Read before the check: events without a message need no query, which is not a mistake to warn about.
        const selection = { ...query };
        return e.messageId ? messagesById(ctx)(e.messageId, selection) : null;
      },
    }),
    changedFields: t.stringList({
      description: 'Names of the fields that changed (those the caller may see).',
      resolve: (e, _args, { viewer }) => visibleChangedFields(viewer, e.changedFields),
    }),
    // Live events carry ids only; what a subscriber asks for beyond them is read here.
    changes: t.field({
      type: 'JSON',
      authScopes: { staff: true },
      nullable: true,
      description: 'For each changed field, its old and new value: { "status": { "old": "NEW", "new": "OPEN" } } (staff only).',
      resolve: async (e, _args, { db }) => (e.changes ?? (await fullEvent(db, e.id)).changes) as Record<string, unknown>,
    }),
    actor: t.field({
      type: ActorRef,
      authScopes: { staff: true },
      nullable: true,
      description: 'Who made the change (staff only).',
      resolve: async (e, _args, { db }) => (e.actor ?? (await fullEvent(db, e.id)).actor) as Actor,
    }),
    occurredAt: t.field({
      type: 'DateTime',
      description: 'When it happened.',
      resolve: async (e, _args, { db }) => e.occurredAt ?? (await fullEvent(db, e.id)).occurredAt,
    }),
  }),
});
