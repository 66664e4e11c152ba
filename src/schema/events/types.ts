import type { Actor } from '../../domain/events.js';
import { encodeId } from '../../ids.js';
import type { Db } from '../../db.js';
import { visibleChangedFields, visibleEvents, visibleMessages, visibleTickets } from '../../auth/visibility.js';
import { builder } from '../builder.js';
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
  } as const,
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

const ActorRef = builder.objectRef<Actor>('Actor').implement({
  description: 'Who made a change.',
  fields: (t) => ({
    kind: t.field({ type: ActorKindEnum, description: 'The kind of credential.', resolve: (a) => ACTOR_KINDS[a.kind] }),
    id: t.id({
      nullable: true,
      description: 'ID of the agent, customer or API key.',
      resolve: (a) => (a.id && a.kind !== 'anonymous' ? encodeId(ACTOR_ID_TYPES[a.kind], a.id) : null),
    }),
    name: t.string({ nullable: true, description: 'Name at the time of the change.', resolve: (a) => a.name }),
  }),
});

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
      resolve: (query, e, _args, { db, viewer }) =>
        db.ticket.findFirst({ ...query, where: { id: e.ticketId, AND: [visibleTickets(viewer)] } }),
    }),
    message: t.prismaField({
      type: Message,
      nullable: true,
      description: 'The message, for MESSAGE_ADDED.',
      resolve: (query, e, _args, { db, viewer }) => {
        // Read before the check: events without a message need no query, which is not a mistake to warn about.
        const selection = { ...query };
        return e.messageId ? db.message.findFirst({ ...selection, where: { id: e.messageId, AND: [visibleMessages(viewer)] } }) : null;
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
