import type { Viewer } from '../../auth/viewer.js';
import type { Db } from '../../db.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { badInput, notFound } from '../../errors.js';
import { visibleCustomers, visibleTickets } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { containsText } from '../common/search.js';
import { checkCursor } from '../common/cursors.js';
import { OrderDirectionEnum } from '../common/enums.js';
import { uuidOf } from '../common/global-ids.js';
import { pageSizeLimit } from '../common/paging.js';
import { TicketPriorityEnum } from '../teams/types.js';
import { Ticket, TicketStatusEnum } from './types.js';

const TicketOrderFieldEnum = builder.enumType('TicketOrderField', {
  description: 'What tickets can be sorted by; ties are broken by ID.',
  values: {
    CREATED_AT: { description: 'Creation time (the default, newest first).' },
    UPDATED_AT: { description: 'Last change.' },
    PRIORITY: { description: 'Priority (LOW < NORMAL < HIGH < URGENT).' },
  } as const,
});

const TicketOrder = builder.inputType('TicketOrder', {
  description: 'How to sort tickets.',
  fields: (t) => ({
    field: t.field({ type: TicketOrderFieldEnum, required: true, description: 'What to sort by.' }),
    direction: t.field({ type: OrderDirectionEnum, required: true, description: 'Which way.' }),
  }),
});

const TicketFilter = builder.inputType('TicketFilter', {
  description: 'Conditions on tickets; all given conditions must hold.',
  fields: (t) => ({
    status: t.field({ type: [TicketStatusEnum], description: 'Any of these statuses.' }),
    priority: t.field({ type: [TicketPriorityEnum], description: 'Any of these priorities.' }),
    category: t.string({ description: 'This category (case-insensitive).' }),
    tags: t.stringList({ description: 'At least one of these tags.' }),
    assigneeId: t.id({ description: 'Assigned to this agent.' }),
    assignedToMe: t.boolean({ description: 'Assigned to the calling agent (people tokens).' }),
    unassigned: t.boolean({ description: 'Assigned to nobody (true) or to somebody (false).' }),
    customerId: t.id({ description: 'Of this customer.' }),
    search: t.string({ description: 'Substring of the title, customer name or customer email, case-insensitive.' }),
    createdAfter: t.field({ type: 'DateTime', description: 'Created at or after this time.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Created before this time.' }),
    updatedAfter: t.field({
      type: 'DateTime',
      description: 'Changed at or after this time (as `updatedAt` shows it to the caller: for customers, the last change they can see).',
    }),
    updatedBefore: t.field({ type: 'DateTime', description: 'Changed before this time (as `updatedAt` shows it to the caller).' }),
  }),
});

type Filter = typeof TicketFilter.$inferInput;

/** At most this many matching customers are listed by ID; beyond, the search joins them. */
const SEARCH_CUSTOMER_IDS = 1000;

/**
 * Title, or customer name or email, containing the text. The matching customers are
 * looked up first and their tickets matched by ID: an OR across the join to customers
 * made PostgreSQL read every ticket of the team (×10 slower at 100,000 tickets, see
 * BENCHMARKS.md), while an OR of the title and a list of customer IDs can use indexes.
 */
async function searchWhere(db: Db, viewer: Viewer, search: string): Promise<Prisma.TicketWhereInput> {
  const contains = containsText(search);
  const customerMatches: Prisma.CustomerWhereInput = { OR: [{ name: contains }, { email: contains }] };
  const customers = await db.customer.findMany({
    where: { AND: [visibleCustomers(viewer), customerMatches] },
    select: { id: true },
    take: SEARCH_CUSTOMER_IDS + 1,
  });
  const byCustomer: Prisma.TicketWhereInput =
    customers.length > SEARCH_CUSTOMER_IDS ? { customer: { is: customerMatches } } : { customerId: { in: customers.map((c) => c.id) } };
  return { OR: [{ title: contains }, byCustomer] };
}

// The page and its totalCount resolve with the same filter object: its conditions
// (with a search's customer lookup) are worked out once for both, for that viewer.
const wheres = new WeakMap<Filter, { viewer: Viewer; where: Promise<Prisma.TicketWhereInput[]> }>();

function whereOf(db: Db, viewer: Viewer, filter: Filter | null | undefined): Promise<Prisma.TicketWhereInput[]> {
  if (!filter) return Promise.resolve([visibleTickets(viewer)]);
  let known = wheres.get(filter);
  if (known?.viewer !== viewer) wheres.set(filter, (known = { viewer, where: conditionsOf(db, viewer, filter) }));
  return known.where;
}

async function conditionsOf(db: Db, viewer: Viewer, filter: Filter): Promise<Prisma.TicketWhereInput[]> {
  const where: Prisma.TicketWhereInput[] = [visibleTickets(viewer)];
  if (filter.status?.length) where.push({ status: { in: filter.status } });
  if (filter.priority?.length) where.push({ priority: { in: filter.priority } });
  if (filter.category) where.push({ category: filter.category.trim().toLowerCase() });
  if (filter.tags?.length) where.push({ tags: { hasSome: filter.tags.map((tag) => tag.trim().toLowerCase()) } });
  if (filter.assigneeId) where.push({ assigneeId: uuidOf('Agent', filter.assigneeId, 'filter.assigneeId') });
  if (filter.assignedToMe) {
    const agentId = viewer.agentId;
    if (!agentId) throw badInput([{ path: 'filter.assignedToMe', message: 'needs a credential of an agent (a token)' }]);
    where.push({ assigneeId: agentId });
  }
  if (filter.unassigned != null) where.push({ assigneeId: filter.unassigned ? null : { not: null } });
  if (filter.customerId) where.push({ customerId: uuidOf('Customer', filter.customerId, 'filter.customerId') });
  const search = filter.search?.trim();
  if (search) where.push(await searchWhere(db, viewer, search));
  if (filter.createdAfter) where.push({ createdAt: { gte: filter.createdAfter } });
  if (filter.createdBefore) where.push({ createdAt: { lt: filter.createdBefore } });
  // Customers filter by the updatedAt they see, so that a staff-only change does not show through.
  const updatedAt = viewer.role === 'CUSTOMER' ? 'publicUpdatedAt' : 'updatedAt';
  if (filter.updatedAfter) where.push({ [updatedAt]: { gte: filter.updatedAfter } });
  if (filter.updatedBefore) where.push({ [updatedAt]: { lt: filter.updatedBefore } });
  return where;
}

const ORDER_COLUMNS = { CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt', PRIORITY: 'priority' } as const;

builder.queryFields((t) => ({
  ticket: t.prismaField({
    type: Ticket,
    nullable: true,
    description: 'A ticket by its ID (tkt_…) or UUID.',
    authScopes: { scope: 'READ' },
    args: { id: t.arg.id({ required: true, description: 'The ticket ID (tkt_…) or its UUID.' }) },
    resolve: async (query, _root, { id }, { db, viewer }) => {
      const ticket = await db.ticket.findFirst({ ...query, where: { id: uuidOf('Ticket', id), AND: [visibleTickets(viewer)] } });
      if (!ticket) throw notFound('Ticket');
      return ticket;
    },
  }),
  tickets: t.prismaConnection(
    {
      type: Ticket,
      description: 'Tickets the caller can see, filtered and sorted; 20 per page by default, at most 100.',
      authScopes: { scope: 'READ' },
      cursor: 'id',
      maxSize: pageSizeLimit,
      args: {
        filter: t.arg({ type: TicketFilter, description: 'Conditions the tickets must meet.' }),
        orderBy: t.arg({ type: TicketOrder, description: 'Sort order; newest first by default.' }),
      },
      totalCount: async (_connection, { filter }, { db, viewer }) => db.ticket.count({ where: { AND: await whereOf(db, viewer, filter) } }),
      resolve: async (query, _root, args, { db, viewer }) => {
        const { filter, orderBy } = args;
        await checkCursor(query, args, (id) => db.ticket.count({ where: { id, AND: [visibleTickets(viewer)] } }));
        const direction = orderBy?.direction === 'ASC' ? 'asc' : 'desc';
        const field = orderBy?.field ?? 'CREATED_AT';
        // Customers sort by the updatedAt they see.
        const column = field === 'UPDATED_AT' && viewer.role === 'CUSTOMER' ? 'publicUpdatedAt' : ORDER_COLUMNS[field];
        const where = { AND: await whereOf(db, viewer, filter) };
        return db.ticket.findMany({ ...query, where, orderBy: [{ [column]: direction }, { id: direction }] });
      },
    },
    { name: 'TicketConnection', description: 'A page of tickets.' },
    { name: 'TicketEdge', description: 'A ticket in a page.' },
  ),
}));
