// A page of `tickets` that selects the ticket's columns with its customer and assignee
// is read by one hand-written statement (schema/tickets/listing.ts). It must answer
// what Prisma answers, for every kind of viewer, filter, order and page, and hide what
// Prisma's visibility rule hides.
import { describe, expect } from 'vitest';
import type { Viewer } from '../src/auth/viewer.js';
import { decodeId } from '../src/ids.js';
import { ticketPage, type ListOrder, type PageQuery } from '../src/schema/tickets/listing.js';
import { whereOf, type Filter } from '../src/schema/tickets/queries.js';
import { graphql } from './generated/index.js';
import { execute } from './support/app.js';
import { test } from './support/fixtures.js';

const Console = graphql(`
  query TicketPageConsole($first: Int, $after: String, $last: Int, $before: String, $filter: TicketFilter) {
    tickets(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      pageInfo { hasNextPage hasPreviousPage }
      edges { cursor node { id title status customer { name } assignee { name } messageCount } }
    }
  }
`);
const WithThread = graphql(`
  query TicketPageWithThread {
    tickets(first: 5) { edges { node { title messages(first: 2) { edges { node { body } } } } } }
  }
`);

const PRISMA_FIELDS = { createdAt: 'createdAt', updatedAt: 'updatedAt', publicUpdatedAt: 'publicUpdatedAt', priority: 'priority' } as const;
const ORDERS: ListOrder[] = (['created_at', 'updated_at', 'public_updated_at', 'priority'] as const).flatMap((column) =>
  (['asc', 'desc'] as const).map((direction) => ({ column, direction })),
);
const prismaField = (column: ListOrder['column']) =>
  PRISMA_FIELDS[column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()) as keyof typeof PRISMA_FIELDS];

describe('a page of tickets, read by its own statement', () => {
  test('returns what Prisma reads for every viewer, filter, order and page', async ({ team, otherTeam, customer, app: { db } }) => {
    const teamId = team.team.id;
    const other = await db.customer.create({ data: { teamId, name: null, email: `nameless-${teamId}@x.test` } });
    // Equal times and priorities, so that the ID breaks the ties of every order.
    const at = new Date('2026-01-02T03:04:05.678Z');
    const later = new Date('2026-01-03T00:00:00.000Z');
    const specs = [
      { title: 'p1', status: 'OPEN', priority: 'HIGH', customerId: customer.uuid, assigneeId: team.agent.id, tags: ['a'], createdAt: at, updatedAt: later },
      { title: 'p2', status: 'OPEN', priority: 'HIGH', customerId: customer.uuid, assigneeId: null, tags: [], createdAt: at, updatedAt: at },
      { title: 'p3', status: 'CLOSED', priority: 'LOW', customerId: other.id, assigneeId: team.agent.id, tags: ['a', 'b'], createdAt: later, updatedAt: at },
      { title: 'p4', status: 'OPEN', priority: 'URGENT', customerId: null, assigneeId: null, tags: [], createdAt: at, updatedAt: later },
      { title: 'p5', status: 'NEW', priority: 'NORMAL', customerId: customer.uuid, assigneeId: team.agent.id, tags: ['b'], createdAt: later, updatedAt: later },
      { title: 'p6', status: 'OPEN', priority: 'HIGH', customerId: other.id, assigneeId: null, tags: [], createdAt: at, updatedAt: at },
    ] as const;
    let number = 2000;
    for (const spec of specs) {
      await db.ticket.create({ data: { ...spec, tags: [...spec.tags], teamId, number: number++, publicUpdatedAt: spec.updatedAt, notes: 'staff only' } });
    }
    const viewers: Record<string, Viewer> = {
      agent: { role: 'AGENT', teamId, agentId: team.agent.id, scopes: new Set(['READ']) },
      customer: { role: 'CUSTOMER', teamId, customerId: customer.uuid, scopes: new Set(['READ']) },
      otherTeam: { role: 'ADMIN', teamId: otherTeam.team.id, agentId: otherTeam.admin.id, scopes: new Set(['READ']) },
    };
    const filters: Filter[] = [{}, { status: ['OPEN'] }, { unassigned: true, tags: ['A'] }, { priority: ['HIGH', 'URGENT'], createdBefore: later }];
    const selections: PageQuery['select'][] = [
      { id: true, messageCount: true, publicMessageCount: true, title: true, status: true, customer: true, assignee: true },
      { id: true, title: true, assignee: true, assigneeId: true, createdAt: true, tags: true, metadata: true, notes: true },
    ];
    // Cursors at both ends and in the middle of the team's list.
    const all = await db.ticket.findMany({ where: { teamId }, orderBy: { id: 'asc' }, select: { id: true } });
    const cursors = [all[0]!, all[Math.floor(all.length / 2)]!, all.at(-1)!];
    const seen: Record<string, Set<string>> = {};
    let compared = 0;
    for (const [who, viewer] of Object.entries(viewers)) {
      seen[who] = new Set();
      for (const filter of filters) {
        for (const order of ORDERS) {
          for (const select of selections) {
            // First pages both ways, and the pages after and before each cursor.
            const pages: PageQuery[] = [
              { take: 3, skip: 0, select },
              { take: -2, skip: 0, select },
              ...cursors.flatMap(({ id }) => [
                { take: 3, skip: 1, cursor: { id }, select },
                { take: -2, skip: 1, cursor: { id }, select },
              ]),
            ];
            const field = prismaField(order.column);
            await Promise.all(
              pages.map(async (query) => {
                const [mine, prisma] = await Promise.all([
                  ticketPage(db, viewer, filter, order, query),
                  db.ticket.findMany({ ...(query as object), where: { AND: whereOf(viewer, filter) }, orderBy: [{ [field]: order.direction }, { id: order.direction }] }),
                ]);
                expect(mine, JSON.stringify({ who, filter, order, query })).toEqual(prisma);
                for (const row of mine ?? []) seen[who]!.add(String((row as { title?: string }).title ?? row.id));
                compared++;
              }),
            );
          }
        }
      }
    }
    expect(compared).toBe(3 * 4 * 8 * 2 * 8);
    // Who saw which tickets over all those pages: a customer their own, another team none.
    expect(Object.fromEntries(Object.entries(seen).map(([who, titles]) => [who, [...titles].filter((t) => t.startsWith('p')).sort()]))).toEqual({
      agent: ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'],
      customer: ['p1', 'p2', 'p5'],
      otherTeam: [],
    });
  });

  test('a selection of what it does not read (a thread, a relation given as a query) is left to Prisma', async ({ team, app: { db } }) => {
    const viewer: Viewer = { role: 'ADMIN', teamId: team.team.id, apiKeyId: '00000000-0000-0000-0000-000000000001', scopes: new Set(['READ']) };
    const order: ListOrder = { column: 'created_at', direction: 'desc' };
    expect(await ticketPage(db, viewer, {}, order, { take: 2, select: { id: true, messages: { select: { id: true } } } })).toBeUndefined();
    expect(await ticketPage(db, viewer, {}, order, { take: 2, select: { id: true, customer: { select: { tickets: true } } } })).toBeUndefined();
    expect(await ticketPage(db, viewer, {}, order, { take: 2, include: { customer: true } })).toBeUndefined();
    expect(await ticketPage(db, viewer, {}, order, { take: 2, select: { id: true, titleTsv: true } })).toBeUndefined();
  });

  test('over the API: one statement for a console page, paged both ways; Prisma for a thread; a customer sees their own', async ({ team, otherTeam, agent, ticket, app: { db, sql } }) => {
    await db.ticket.create({ data: { teamId: team.team.id, number: 3001, title: 'Nobody’s', status: 'OPEN', updatedAt: new Date() } });
    await db.ticket.update({ where: { id: decodeId(ticket.id)!.uuid }, data: { status: 'OPEN', assigneeId: agent.uuid } });
    sql.length = 0;
    const page = (await execute(Console, { as: team.keys.read, variables: { first: 1, filter: { status: ['OPEN'] } } })).ok().tickets;
    // The one statement of the page (the key's last use is recorded beside it).
    const reads = sql.filter((q) => q.includes('tickets'));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toContain('FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id LEFT JOIN agents a ON a.id = t.assignee_id');
    expect(page.edges.map((e) => e.node)).toEqual([{ id: expect.any(String), title: 'Nobody’s', status: 'OPEN', customer: null, assignee: null, messageCount: 0 }]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false });

    const next = (await execute(Console, { as: team.keys.read, variables: { first: 5, after: page.edges[0]!.cursor } })).ok().tickets;
    expect(next.edges.map((e) => e.node)).toEqual([
      { id: ticket.id, title: 'Printer on fire', status: 'OPEN', customer: { name: 'Jane Doe' }, assignee: { name: agent.name }, messageCount: 1 },
    ]);
    const back = (await execute(Console, { as: team.keys.read, variables: { last: 5, before: next.edges[0]!.cursor } })).ok().tickets;
    expect(back.edges.map((e) => e.node.title)).toEqual(['Nobody’s']);
    expect(back.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false });

    const own = (await execute(Console, { as: team.tokens.customer, variables: { first: 10 } })).ok().tickets;
    expect(own.edges.map((e) => e.node.title)).toEqual(['Printer on fire']);
    const elsewhere = (await execute(Console, { as: otherTeam.keys.read, variables: { first: 10 } })).ok().tickets;
    expect(elsewhere.edges).toEqual([]);

    sql.length = 0;
    const threads = (await execute(WithThread, { as: team.keys.read })).ok().tickets;
    expect(threads.edges.map((e) => e.node.title)).toEqual(['Nobody’s', 'Printer on fire']);
    expect(sql.some((q) => q.includes('LEFT JOIN customers c ON c.id = t.customer_id'))).toBe(false);
  });
});
