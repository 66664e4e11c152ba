// A page of `tickets` that selects the ticket's columns with its customer and assignee,
// and a ticket with a page of its thread and the messages' authors, are read by one
// hand-written statement each (schema/tickets/reads.ts). They must answer what Prisma
// answers, for every kind of viewer, filter, order and page, and hide what Prisma's
// visibility rule hides.
import { describe, expect } from 'vitest';
import type { Viewer } from '../src/auth/viewer.js';
import { decodeId } from '../src/ids.js';
import { visibleMessages, visibleTickets } from '../src/auth/visibility.js';
import { ticketPage, ticketWithThread, type ListOrder, type PageQuery } from '../src/schema/tickets/reads.js';
import { whereOf, type Filter } from '../src/schema/tickets/queries.js';
import { graphql } from './generated/index.js';
import { execute } from './support/app.js';
import { test } from './support/fixtures.js';
import { AddMessage } from './support/operations.js';

const Console = graphql(`
  query TicketPageConsole($first: Int, $after: String, $last: Int, $before: String, $filter: TicketFilter) {
    tickets(first: $first, after: $after, last: $last, before: $before, filter: $filter) {
      pageInfo { hasNextPage hasPreviousPage }
      edges { cursor node { id title status customer { name } assignee { name } messageCount } }
    }
  }
`);
// The same page, its fields in another order.
const ConsoleReordered = graphql(`
  query TicketPageConsoleReordered($first: Int, $filter: TicketFilter) {
    tickets(first: $first, filter: $filter) {
      edges { node { messageCount assignee { name } customer { name } status title id } }
    }
  }
`);
const WithThread = graphql(`
  query TicketPageWithThread {
    tickets(first: 5) { edges { node { title messages(first: 2) { edges { node { body } } } } } }
  }
`);

const Thread = graphql(`
  query TicketReadsThread($id: ID!, $last: Int, $before: String, $first: Int, $after: String) {
    ticket(id: $id) {
      title
      customer { name }
      messages(last: $last, before: $before, first: $first, after: $after) {
        pageInfo { hasNextPage hasPreviousPage }
        edges { cursor node { body isInternal author { __typename ... on Agent { agentName: name } ... on Customer { customerName: name } } } }
      }
    }
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
      const closed = spec.status === 'CLOSED' ? { closedAt: later, firstResponseAt: at, category: 'billing', slaPausedMs: 1500 } : {};
      await db.ticket.create({ data: { ...spec, ...closed, tags: [...spec.tags], teamId, number: number++, publicUpdatedAt: spec.updatedAt, notes: 'staff only' } });
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
      {
        id: true, teamId: true, number: true, priority: true, category: true, customerId: true, updatedAt: true, publicUpdatedAt: true,
        firstResponseAt: true, responseDeadline: true, resolutionDeadline: true, slaPausedAt: true, slaPausedMs: true, closedAt: true, mergedIntoId: true,
      },
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
    expect(compared).toBe(3 * 4 * 8 * 3 * 8);
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
    expect(reads[0]).toContain('FROM tickets t LEFT JOIN agents t_0 ON t_0.id = t.assignee_id LEFT JOIN customers t_1 ON t_1.id = t.customer_id');
    expect(page.edges.map((e) => e.node)).toEqual([{ id: expect.any(String), title: 'Nobody’s', status: 'OPEN', customer: null, assignee: null, messageCount: 0 }]);
    expect(page.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: false });
    // One statement text whatever the order of the fields, and of the filter's statuses.
    sql.length = 0;
    await execute(ConsoleReordered, { as: team.keys.read, variables: { first: 1, filter: { status: ['OPEN', 'NEW', 'OPEN'] } } });
    expect(sql.filter((q) => q.includes('tickets'))).toEqual(reads);

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
    // Prisma's statements, not reads.ts's (which start with the ticket's columns as `t.`).
    expect(sql.some((q) => q.startsWith('SELECT t.'))).toBe(false);
  });
});

describe('a ticket with a page of its thread, read by its own statement', () => {
  test('returns what Prisma reads for every viewer, ticket and page of the thread', async ({ team, otherTeam, customer, app: { db } }) => {
    const teamId = team.team.id;
    const at = new Date('2026-02-03T04:05:06.789Z');
    const make = (number: number, customerId: string | null) =>
      db.ticket.create({ data: { teamId, number, title: `t${number}`, customerId, assigneeId: customerId && team.agent.id, updatedAt: at } });
    const [threaded, empty, nobody] = [await make(4001, customer.uuid), await make(4002, customer.uuid), await make(4003, null)];
    // Replies of agents and the customer, internal notes, one without an author; three at the same instant.
    const messages = [
      { sender: 'CUSTOMER', authorCustomerId: customer.uuid, isInternal: false, createdAt: at },
      { sender: 'AGENT', authorAgentId: team.agent.id, isInternal: true, createdAt: at },
      { sender: 'AGENT', authorAgentId: team.admin.id, isInternal: false, createdAt: at },
      { sender: 'AGENT', authorAgentId: null, isInternal: false, createdAt: new Date(at.getTime() + 1000) },
      { sender: 'CUSTOMER', authorCustomerId: customer.uuid, isInternal: false, createdAt: new Date(at.getTime() + 2000) },
      { sender: 'AGENT', authorAgentId: team.agent.id, isInternal: true, createdAt: new Date(at.getTime() + 3000) },
    ] as const;
    for (const [i, message] of messages.entries()) {
      await db.message.create({ data: { ...message, ticketId: threaded.id, teamId, body: `m${i}`, senderName: `n${i}` } });
    }
    const alone = await db.message.create({ data: { ticketId: nobody.id, teamId, sender: 'AGENT', authorAgentId: team.agent.id, body: 'alone', isInternal: false } });
    const thread = await db.message.findMany({ where: { ticketId: threaded.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { id: true } });
    const viewers: Record<string, Viewer> = {
      agent: { role: 'AGENT', teamId, agentId: team.agent.id, scopes: new Set(['READ']) },
      customer: { role: 'CUSTOMER', teamId, customerId: customer.uuid, scopes: new Set(['READ']) },
      otherTeam: { role: 'ADMIN', teamId: otherTeam.team.id, agentId: otherTeam.admin.id, scopes: new Set(['READ']) },
    };
    const ticketSelects = [{ id: true, title: true, messageCount: true, publicMessageCount: true }, { id: true, customer: true, assignee: true, notes: true }];
    const messageSelects = [
      { id: true, body: true, sender: true, createdAt: true, authorAgent: true, authorCustomer: true },
      { isInternal: true, senderName: true, authorCustomer: true },
    ];
    const pages = [
      { take: -21, skip: 0 },
      { take: 3, skip: 0 },
      ...[thread[0]!, thread[2]!, thread.at(-1)!].flatMap(({ id }) => [
        { take: 2, skip: 1, cursor: { id } },
        { take: -2, skip: 1, cursor: { id } },
      ]),
      // A cursor of another ticket's thread, and one of no message.
      { take: 2, skip: 0, cursor: { id: alone.id } },
      { take: -2, skip: 0, cursor: { id: '00000000-0000-7000-8000-000000000000' } },
    ];
    const seen: Record<string, string[]> = {};
    let compared = 0;
    for (const [who, viewer] of Object.entries(viewers)) {
      const bodies = new Set<string>();
      for (const ticket of [threaded, empty, nobody]) {
        for (const select of ticketSelects) {
          for (const messageSelect of messageSelects) {
            await Promise.all(
              pages.map(async (page) => {
                const query = { select: { ...select, messages: { where: visibleMessages(viewer), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], ...page, select: messageSelect } } };
                const [mine, prisma] = await Promise.all([
                  ticketWithThread(db, viewer, ticket.id, query),
                  db.ticket.findFirst({ ...(query as object), where: { id: ticket.id, AND: [visibleTickets(viewer)] } }),
                ]);
                expect(mine, JSON.stringify({ who, ticket: ticket.title, query })).toBeDefined();
                expect(mine!.ticket ?? null, JSON.stringify({ who, ticket: ticket.title, query })).toEqual(prisma);
                for (const m of (mine!.ticket as { messages?: Array<{ body?: string }> } | undefined)?.messages ?? []) if (m.body) bodies.add(m.body);
                compared++;
              }),
            );
          }
        }
      }
      seen[who] = [...bodies].sort();
    }
    expect(compared).toBe(3 * 3 * 2 * 2 * pages.length);
    // Customers never read internal notes; another team reads nothing.
    expect(seen).toEqual({ agent: ['alone', 'm0', 'm1', 'm2', 'm3', 'm4', 'm5'], customer: ['m0', 'm2', 'm3', 'm4'], otherTeam: [] });
  });

  test('a thread it does not read as asked (counted, filtered otherwise, with attachments) is left to Prisma', async ({ team, ticket, app: { db } }) => {
    const viewer: Viewer = { role: 'AGENT', teamId: team.team.id, agentId: team.agent.id, scopes: new Set(['READ']) };
    const id = decodeId(ticket.id)!.uuid;
    const thread = { where: visibleMessages(viewer), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: 3, select: { id: true } };
    expect(await ticketWithThread(db, viewer, id, { select: { id: true, messages: thread } })).toEqual({ ticket: expect.objectContaining({ id }) });
    const refused: PageQuery[] = [
      { select: { id: true, messages: { ...thread, where: {} } } },
      { select: { id: true, messages: { ...thread, where: { ticket: { teamId: team.team.id }, isInternal: false } } } },
      { select: { id: true, messages: { ...thread, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] } } },
      { select: { id: true, messages: { ...thread, distinct: ['sender'] } } },
      { select: { id: true, messages: { ...thread, select: { id: true, attachments: true } } } },
      { select: { id: true, messages: { ...thread, select: { id: true, authorAgent: { select: { id: true } } } } } },
      { select: { id: true, messages: thread, _count: { select: { messages: true } } } },
      { select: { id: true, messages: true } },
      { include: { messages: true } },
    ];
    for (const query of refused) expect(await ticketWithThread(db, viewer, id, query), JSON.stringify(query)).toBeUndefined();
  });

  test('over the API: one statement for a ticket with its thread, paged both ways; no internal note for its customer', async ({ team, otherTeam, ticket, app: { sql } }) => {
    for (const [i, as] of [team.tokens.agent, team.tokens.admin, team.tokens.customer].entries()) {
      await execute(AddMessage, { as, variables: { input: { ticketId: ticket.id, body: `r${i}`, isInternal: i === 1 } } });
    }
    sql.length = 0;
    const last = (await execute(Thread, { as: team.keys.read, variables: { id: ticket.id, last: 3 } })).ok().ticket!;
    const reads = sql.filter((q) => q.includes('tickets'));
    expect(reads).toHaveLength(1);
    expect(reads[0]).toContain('LEFT JOIN LATERAL');
    expect(last.customer).toEqual({ name: 'Jane Doe' });
    expect(last.messages.edges.map((e) => [e.node.body, e.node.isInternal, e.node.author])).toEqual([
      ['r0', false, { __typename: 'Agent', agentName: team.agent.name }],
      ['r1', true, { __typename: 'Agent', agentName: team.admin.name }],
      ['r2', false, { __typename: 'Customer', customerName: 'Jane Doe' }],
    ]);
    expect(last.messages.pageInfo).toEqual({ hasNextPage: false, hasPreviousPage: true });
    const before = (await execute(Thread, { as: team.keys.read, variables: { id: ticket.id, last: 5, before: last.messages.edges[0]!.cursor } })).ok().ticket!;
    expect(before.messages.edges.map((e) => e.node.body)).toEqual(['Smoke everywhere']);
    const after = (await execute(Thread, { as: team.keys.read, variables: { id: ticket.id, first: 2, after: before.messages.edges[0]!.cursor } })).ok().ticket!;
    expect(after.messages.edges.map((e) => e.node.body)).toEqual(['r0', 'r1']);
    // A page after a cursor has one before it.
    expect(after.messages.pageInfo).toEqual({ hasNextPage: true, hasPreviousPage: true });

    const asCustomer = (await execute(Thread, { as: team.tokens.customer, variables: { id: ticket.id, last: 10 } })).ok().ticket!;
    expect(asCustomer.messages.edges.map((e) => e.node.body)).toEqual(['Smoke everywhere', 'r0', 'r2']);
    const elsewhere = await execute(Thread, { as: otherTeam.keys.read, variables: { id: ticket.id, last: 10 } });
    expect(elsewhere.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });
});
