import type { Viewer } from '../../auth/viewer.js';
import type { Db } from '../../db.js';
import type { Prisma } from '../../generated/prisma/client.js';
import { badInput, notFound } from '../../errors.js';
import { visibleTickets } from '../../auth/visibility.js';
import { isTicketColumn, visibleTicket } from '../../domain/tickets.js';
import { builder } from '../builder.js';
import { checkCursor } from '../common/cursors.js';
import { OrderDirectionEnum } from '../common/enums.js';
import { uuidOf } from '../common/global-ids.js';
import { pageSizeLimit } from '../common/paging.js';
import { TicketPriorityEnum } from '../teams/types.js';
import { countMatches, isMatch, SEARCH_CANDIDATES, searchPage, searchText, sortColumn, type Hit, type SearchCount, type SearchFilter } from './search.js';
import { ticketPage, ticketWithThread } from './reads.js';
import { Ticket, TicketStatusEnum } from './types.js';

/** A query of plugin-prisma's that selects only the ticket's own columns (no relation, no count). */
const selectsColumnsOnly = (query: { select?: Record<string, unknown>; include?: unknown }) =>
  query.include === undefined &&
  query.select !== undefined &&
  Object.entries(query.select).every(([field, value]) => value === true && isTicketColumn(field));

const TicketOrderFieldEnum = builder.enumType('TicketOrderField', {
  description: 'What tickets can be sorted by; ties are broken by ID.',
  values: {
    CREATED_AT: { description: 'Creation time (the default, newest first).' },
    UPDATED_AT: { description: 'Last change.' },
    PRIORITY: { description: 'Priority (LOW < NORMAL < HIGH < URGENT).' },
    RELEVANCE: { description: 'How well the ticket matches filter.search (searches only; DESC puts the best first).' },
  } as const,
});

const TicketOrder = builder.inputType('TicketOrder', {
  description: 'How to sort tickets.',
  fields: (t) => ({
    field: t.field({ type: TicketOrderFieldEnum, required: true, description: 'What to sort by.' }),
    direction: t.field({ type: OrderDirectionEnum, required: true, description: 'Which way.' }),
  }),
});

const TicketSearchFieldEnum = builder.enumType('TicketSearchField', {
  description: 'A place filter.search looks in.',
  values: {
    TITLE: { description: 'The title.' },
    CUSTOMER: { description: "The customer's name and email." },
    PUBLIC_MESSAGES: { description: 'Public messages of the thread.' },
    INTERNAL_MESSAGES: { description: 'Internal notes (staff only: FORBIDDEN for customers).' },
  } as const,
});

const TicketSearchMatchEnum = builder.enumType('TicketSearchMatch', {
  description: 'Where a search found its best match in a ticket.',
  values: {
    TITLE: { description: 'The title.' },
    MESSAGE: { description: 'A message of the thread (for customers: a public one).' },
    CUSTOMER: { description: "The customer's name or email." },
  } as const,
});

export const TicketFilter = builder.inputType('TicketFilter', {
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
    search: t.string({
      description:
        'Full-text search (at most 500 characters) of the title, the customer and the messages, in the team\'s search configuration: ' +
        'words, "an exact phrase", -excluded, or. Substrings of the title, customer name and email match too. Customers never match internal notes.',
    }),
    searchIn: t.field({
      type: [TicketSearchFieldEnum],
      description: 'Where filter.search looks; by default everywhere the caller may (customers: not in internal notes).',
    }),
    createdAfter: t.field({ type: 'DateTime', description: 'Created at or after this time.' }),
    createdBefore: t.field({ type: 'DateTime', description: 'Created before this time.' }),
    updatedAfter: t.field({
      type: 'DateTime',
      description: 'Changed at or after this time (as `updatedAt` shows it to the caller: for customers, the last change they can see).',
    }),
    updatedBefore: t.field({ type: 'DateTime', description: 'Changed before this time (as `updatedAt` shows it to the caller).' }),
  }),
});

export type Filter = typeof TicketFilter.$inferInput;

// Searches apply the filter in SQL (search.ts): a field added to TicketFilter fails to
// compile here until SearchFilter, and so the search, has it too.
({}) satisfies Record<Exclude<keyof Filter, keyof SearchFilter>, never>;

/** The filter's conditions, for listings without a search (searches are SQL: search.ts). */
export function whereOf(viewer: Viewer, filter: Filter | null | undefined): Prisma.TicketWhereInput[] {
  const where: Prisma.TicketWhereInput[] = [visibleTickets(viewer)];
  if (!filter) return where;
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
  if (filter.createdAfter) where.push({ createdAt: { gte: filter.createdAfter } });
  if (filter.createdBefore) where.push({ createdAt: { lt: filter.createdBefore } });
  // Customers filter by the updatedAt they see, so that a staff-only change does not show through.
  const updatedAt = viewer.role === 'CUSTOMER' ? 'publicUpdatedAt' : 'updatedAt';
  if (filter.updatedAfter) where.push({ [updatedAt]: { gte: filter.updatedAfter } });
  if (filter.updatedBefore) where.push({ [updatedAt]: { lt: filter.updatedBefore } });
  return where;
}

const ORDER_COLUMNS = { CREATED_AT: 'createdAt', UPDATED_AT: 'updatedAt', PRIORITY: 'priority' } as const;

// The hit behind each ticket of a search's page, for the fields of its edge; and the
// count the page's statement made, for totalCount and totalCountIsLowerBound.
const hits = new WeakMap<object, Hit>();
const totals = new WeakMap<Filter, { viewer: Viewer; count: SearchCount }>();

/** The count of a search: the one its page made, or counted now (a selection without edges). */
function searchCount(db: Db, viewer: Viewer, filter: Filter, text: string): SearchCount | Promise<SearchCount> {
  const counted = totals.get(filter);
  return counted?.viewer === viewer ? counted.count : countMatches(db, viewer, filter, text);
}

/** A search's page: its ticket IDs in SQL (search.ts), then the rows for the selection. */
async function searchTickets(
  db: Db,
  viewer: Viewer,
  args: { filter?: Filter | null; orderBy?: { field: string; direction: string } | null },
  text: string,
  query: { take?: number; skip?: number; cursor?: { id?: string } } & Record<string, unknown>,
) {
  const { take = 21, skip: _skip, cursor, ...selection } = query;
  const filter = args.filter ?? {};
  const field = (args.orderBy?.field ?? 'CREATED_AT') as 'RELEVANCE' | 'CREATED_AT' | 'UPDATED_AT' | 'PRIORITY';
  const direction = args.orderBy?.direction === 'ASC' ? 'asc' : 'desc';
  const page = await searchPage(db, viewer, filter, text, { field, direction }, { take, cursorId: cursor?.id });
  if (page.count !== undefined && args.filter) totals.set(args.filter, { viewer, count: page.count });
  const rows = await db.ticket.findMany({ ...(selection as object), where: { id: { in: page.hits.map((h) => h.id) } } });
  const byId = new Map(rows.map((row) => [row.id, row]));
  return page.hits.flatMap((hit) => {
    const row = byId.get(hit.id);
    if (!row) return [];
    hits.set(row, hit);
    return [row];
  });
}

builder.queryFields((t) => ({
  ticket: t.prismaField({
    type: Ticket,
    nullable: true,
    description: 'A ticket by its ID (tkt_…) or UUID.',
    authScopes: { scope: 'READ' },
    args: { id: t.arg.id({ required: true, description: 'The ticket ID (tkt_…) or its UUID.' }) },
    resolve: async (query, _root, { id }, { db, viewer }) => {
      const uuid = uuidOf('Ticket', id);
      // Without relations to load, the row alone answers: one prepared statement; with a
      // page of the thread, one statement of reads.ts when it can answer the selection.
      const read = selectsColumnsOnly(query) ? { ticket: await visibleTicket(db, viewer, uuid) } : await ticketWithThread(db, viewer, uuid, query);
      const ticket = read ? read.ticket : await db.ticket.findFirst({ ...query, where: { id: uuid, AND: [visibleTickets(viewer)] } });
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
      totalCount: async (_connection, { filter }, { db, viewer }) => {
        const text = searchText(filter);
        if (text && filter) return (await searchCount(db, viewer, filter, text)).total;
        return db.ticket.count({ where: { AND: whereOf(viewer, filter) } });
      },
      resolve: async (query, _root, args, { db, viewer }) => {
        const { filter, orderBy } = args;
        const text = searchText(filter);
        if (text && filter) {
          await checkCursor(query, args, async (id) => ((await isMatch(db, viewer, filter, text, id)) ? 1 : 0));
          return searchTickets(db, viewer, args, text, query);
        }
        if (orderBy?.field === 'RELEVANCE') throw badInput([{ path: 'orderBy.field', message: 'RELEVANCE sorts searches only: give filter.search' }]);
        await checkCursor(query, args, (id) => db.ticket.count({ where: { id, AND: [visibleTickets(viewer)] } }));
        const direction = orderBy?.direction === 'ASC' ? 'asc' : 'desc';
        const field = (orderBy?.field ?? 'CREATED_AT') as keyof typeof ORDER_COLUMNS;
        // Customers sort by the updatedAt they see.
        const column = field === 'UPDATED_AT' && viewer.role === 'CUSTOMER' ? 'publicUpdatedAt' : ORDER_COLUMNS[field];
        const page = await ticketPage(db, viewer, filter ?? {}, { column: sortColumn(viewer, field), direction }, query);
        if (page) return page as Awaited<ReturnType<typeof db.ticket.findMany<typeof query>>>;
        const where = { AND: whereOf(viewer, filter) };
        return db.ticket.findMany({ ...query, where, orderBy: [{ [column]: direction }, { id: direction }] });
      },
    },
    {
      name: 'TicketConnection',
      description: 'A page of tickets.',
      fields: (c) => ({
        totalCountIsLowerBound: c.boolean({
          description:
            `For a search that matches more than it ranks (over ${SEARCH_CANDIDATES} titles, customers or messages): true, and the hits, ` +
            `their order and totalCount are those of the ${SEARCH_CANDIDATES} most recent matches of each kind; there are more. ` +
            'False otherwise: totalCount is exact.',
          resolve: async (connection, _args, { db, viewer }) => {
            const { filter } = (connection as unknown as { args: { filter?: Filter | null } }).args;
            const text = searchText(filter);
            return text && filter ? (await searchCount(db, viewer, filter, text)).capped : false;
          },
        }),
      }),
    },
    {
      name: 'TicketEdge',
      description: 'A ticket in a page; for a search, with where and how well it matched.',
      fields: (e) => ({
        snippet: e.string({
          nullable: true,
          description:
            'For a search: an excerpt of the best match, HTML-escaped, with the matched words in <mark>…</mark> (null outside searches).',
          resolve: (edge) => hits.get(edge.node)?.snippet ?? null,
        }),
        matchedIn: e.field({
          type: TicketSearchMatchEnum,
          nullable: true,
          description: 'For a search: where the best match is (null outside searches).',
          resolve: (edge) => hits.get(edge.node)?.matchedIn ?? null,
        }),
        rank: e.float({
          nullable: true,
          description: 'For a search: how well the ticket matches, higher is better; RELEVANCE sorts by it (null outside searches).',
          resolve: (edge) => hits.get(edge.node)?.rank ?? null,
        }),
      }),
    },
  ),
}));
