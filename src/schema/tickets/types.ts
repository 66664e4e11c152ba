import { slaTier } from '../../domain/sla.js';
import { visibleEvents, visibleMessages, visibleTickets } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { pageSizeLimit } from '../common/paging.js';
import { Customer } from '../customers/types.js';
import { TicketPriorityEnum } from '../teams/types.js';

export const TicketStatusEnum = builder.enumType('TicketStatus', {
  description: 'Where a ticket stands.',
  values: {
    NEW: { description: 'Submitted, not yet looked at.' },
    OPEN: { description: 'Awaiting a response from the team.' },
    IN_PROGRESS: { description: 'Being worked on.' },
    PENDING: { description: 'Awaiting the customer; the SLA clock is paused.' },
    RESOLVED: { description: 'A fix was delivered, awaiting confirmation.' },
    CLOSED: { description: 'Final: takes no more public replies.' },
  } as const,
});

export const SlaTierEnum = builder.enumType('SlaTier', {
  description: 'Where a service level target stands.',
  values: {
    ON_TRACK: { description: 'Due, with more than a quarter of the time left.' },
    AT_RISK: { description: 'Due within the last quarter of the time allowed.' },
    BREACHED: { description: 'Missed.' },
    MET: { description: 'Done in time.' },
  } as const,
});

/** Staff-only fields: a customer asking for one gets FORBIDDEN for that field. */
const staffOnly = { authScopes: { staff: true }, nullable: true } as const;

export const Ticket = builder.prismaNode('Ticket', {
  // Select mode: queries read only the columns the operation's fields need, and
  // always the two counters. A field that names its own `select` is wrapped by
  // plugin-prisma to look up its selection for every row it resolves (in a list of 50
  // tickets, a tenth of the request's CPU for three such fields): messageCount's
  // counters cost less to read for every ticket. (The times of updatedAt do not: each
  // is a Date to make, for every row.)
  select: { id: true, messageCount: true, publicMessageCount: true },
  description: 'A support request and its conversation.',
  id: { field: 'id', description: 'The ticket ID (tkt_…).' },
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, AND: [visibleTickets(viewer)] }),
  fields: (t) => {
    // SLA fields read their deadline and end columns plus the clock's pause state.
    const sla = <S extends Record<string, true>>(select: S) => ({
      ...staffOnly,
      select: { ...select, createdAt: true, slaPausedMs: true, slaPausedAt: true } as S & { createdAt: true; slaPausedMs: true; slaPausedAt: true },
    });
    return {
      number: t.exposeInt('number', { description: 'Per-team sequence number: #1, #2, …' }),
      title: t.exposeString('title', { description: 'Subject line (1–200 characters).' }),
      status: t.expose('status', { type: TicketStatusEnum, description: 'Where the ticket stands.' }),
      priority: t.expose('priority', { type: TicketPriorityEnum, description: 'How urgent it is.' }),
      category: t.exposeString('category', { nullable: true, description: 'Lowercase slug such as "bug" or "billing".' }),
      tags: t.exposeStringList('tags', { description: 'Lowercase tags, at most 20.' }),
      notes: t.exposeString('notes', { ...staffOnly, description: 'Internal notes about the ticket (staff only).' }),
      metadata: t.expose('metadata', {
        ...staffOnly,
        type: 'JSON',
        description: 'String key/value pairs for integrations, at most 50 (staff only).',
      }),
      customer: t.relation('customer', { nullable: true, description: 'Who asked for help.' }),
      assignee: t.relation('assignee', { nullable: true, description: 'The agent working on it.' }),
      messages: t.relatedConnection(
        'messages',
        {
          description: 'The conversation, oldest first. Customers see public messages only.',
          cursor: 'id',
          maxSize: pageSizeLimit,
          totalCount: true,
          query: (_args, { viewer }) => ({
            where: visibleMessages(viewer),
            orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
          }),
        },
        { name: 'MessageConnection', description: 'A page of messages.' },
        { name: 'MessageEdge', description: 'A message in a page.' },
      ),
      messageCount: t.int({
        description: 'Number of messages the caller can see (customers: public ones).',
        resolve: (ticket, _args, { viewer }) => (viewer.role === 'CUSTOMER' ? ticket.publicMessageCount : ticket.messageCount),
      }),
      firstResponseAt: t.expose('firstResponseAt', {
        type: 'DateTime',
        nullable: true,
        description: 'When an agent first replied publicly.',
      }),
      responseDeadline: t.expose('responseDeadline', {
        ...staffOnly,
        type: 'DateTime',
        description: 'When the first response is due (SLA; staff only).',
      }),
      resolutionDeadline: t.expose('resolutionDeadline', {
        ...staffOnly,
        type: 'DateTime',
        description: 'When resolution is due (SLA; staff only).',
      }),
      responseTier: t.field({
        ...sla({ responseDeadline: true, firstResponseAt: true }),
        type: SlaTierEnum,
        description: 'Where the first-response target stands (staff only).',
        resolve: (ticket) =>
          slaTier(ticket.responseDeadline, ticket.firstResponseAt, ticket.createdAt, ticket.slaPausedMs, ticket.slaPausedAt ?? new Date()),
      }),
      resolutionTier: t.field({
        ...sla({ resolutionDeadline: true, closedAt: true }),
        type: SlaTierEnum,
        description: 'Where the resolution target stands (staff only).',
        resolve: (ticket) =>
          slaTier(ticket.resolutionDeadline, ticket.closedAt, ticket.createdAt, ticket.slaPausedMs, ticket.slaPausedAt ?? new Date()),
      }),
      slaPaused: t.boolean({
        ...staffOnly,
        description: 'Whether the SLA clock is paused (while PENDING; staff only).',
        select: { slaPausedAt: true },
        resolve: (ticket) => ticket.slaPausedAt !== null,
      }),
      slaBreached: t.boolean({
        ...sla({ responseDeadline: true, firstResponseAt: true, resolutionDeadline: true, closedAt: true }),
        description: 'Whether a target was missed (staff only).',
        resolve: (ticket) => {
          const now = ticket.slaPausedAt ?? new Date();
          return (
            slaTier(ticket.responseDeadline, ticket.firstResponseAt, ticket.createdAt, ticket.slaPausedMs, now) === 'BREACHED' ||
            slaTier(ticket.resolutionDeadline, ticket.closedAt, ticket.createdAt, ticket.slaPausedMs, now) === 'BREACHED'
          );
        },
      }),
      createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the ticket was created.' }),
      updatedAt: t.field({
        type: 'DateTime',
        description: 'When the ticket or its thread last changed (for customers: the last change they can see).',
        select: { updatedAt: true, publicUpdatedAt: true },
        resolve: (ticket, _args, { viewer }) => (viewer.role === 'CUSTOMER' ? ticket.publicUpdatedAt : ticket.updatedAt),
      }),
      closedAt: t.expose('closedAt', {
        type: 'DateTime',
        nullable: true,
        description: 'When it was resolved or closed; null while open.',
      }),
      events: t.prismaConnection(
        {
          ...staffOnly,
          type: 'TicketEvent',
          description: 'The history of the ticket, oldest first (staff only).',
          cursor: 'id',
          maxSize: pageSizeLimit,
          resolve: (query, ticket, _args, { db, viewer }) =>
            db.ticketEvent.findMany({
              ...query,
              where: { ticketId: ticket.id, AND: [visibleEvents(viewer)] },
              orderBy: { seq: 'asc' },
            }),
        },
        { name: 'TicketHistoryConnection', description: 'A page of ticket events.' },
        { name: 'TicketHistoryEdge', description: 'A ticket event in a page.' },
      ),
    };
  },
});

// Beside the type rather than in it: a field of Ticket typed by its own ref makes the ref's type circular.
builder.prismaObjectField(Ticket, 'mergedInto', (t) =>
  t.field({
    type: Ticket,
    nullable: true,
    description: 'The ticket this one was merged into (it is CLOSED then); null when not merged, or when the caller cannot see that ticket.',
    select: { mergedIntoId: true },
    resolve: (ticket, _args, { db, viewer }) =>
      ticket.mergedIntoId ? db.ticket.findFirst({ where: { id: ticket.mergedIntoId, AND: [visibleTickets(viewer)] } }) : null,
  }),
);

builder.prismaObjectField(Customer, 'tickets', (t) =>
  t.relatedConnection(
    'tickets',
    {
      description: "The customer's tickets the caller can see, newest first.",
      cursor: 'id',
      maxSize: pageSizeLimit,
      totalCount: true,
      query: (_args, { viewer }) => ({ where: visibleTickets(viewer), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'CustomerTicketConnection', description: 'A page of tickets.' },
    { name: 'CustomerTicketEdge', description: 'A ticket in a page.' },
  ),
);
