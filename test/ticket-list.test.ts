import { describe, expect } from 'vitest';
import { encodeId } from '../src/ids.js';
import { graphql } from './generated/index.js';
import type { TicketFilter, TicketOrder } from './generated/graphql.js';
import { execute, testApp } from './support/app.js';
import { test as base, type Person, type TeamFixture } from './support/fixtures.js';
import { AddMessage, newTicket } from './support/operations.js';

const ListTickets = graphql(`
  query ListTickets($first: Int, $after: String, $last: Int, $before: String, $filter: TicketFilter, $orderBy: TicketOrder) {
    tickets(first: $first, after: $after, last: $last, before: $before, filter: $filter, orderBy: $orderBy) {
      totalCount
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
      edges { cursor node { id title priority } }
    }
  }
`);

const Nested = graphql(`
  query NestedTickets($first: Int) {
    tickets(first: $first) {
      edges {
        node {
          title
          customer { name }
          assignee { name }
          messageCount
          messages(first: 3) { edges { node { body } } }
        }
      }
    }
  }
`);

const Thread = graphql(`
  query ThreadAuthors($id: ID!, $last: Int) {
    ticket(id: $id) {
      messages(last: $last) { edges { node { author { __typename ... on Agent { agentName: name role } ... on Customer { customerName: name email } } } } }
    }
  }
`);

async function titles(t: TeamFixture, variables: { filter?: TicketFilter; orderBy?: TicketOrder; first?: number }, as = t.keys.read) {
  const data = (await execute(ListTickets, { as, variables })).ok();
  return { titles: data.tickets.edges.map((e) => e.node.title), total: data.tickets.totalCount };
}

/** Seven tickets of the team with distinct properties, created in order a…g; two of them are Bob's. */
async function seed(team: TeamFixture, people: { admin: Person; agent: Person; customer: Person }) {
  const { db } = testApp();
  const bob = await db.customer.create({ data: { teamId: team.team.id, name: 'Bob Builder', email: `bob@${team.team.slug}.test` } });
  const make = (input: Parameters<typeof newTicket>[1]) => newTicket(team.keys.write, input);
  await make({ title: 'a Billing question', category: 'billing', tags: ['invoice'], customerId: people.customer.id });
  await make({ title: 'b Login broken', priority: 'URGENT', status: 'OPEN', tags: ['login'], assigneeId: people.agent.id });
  await make({ title: 'c Dashboard slow', priority: 'HIGH', status: 'IN_PROGRESS', tags: ['dashboard', 'perf'], assigneeId: people.admin.id });
  await make({ title: 'd Refund please', category: 'billing', priority: 'LOW', customerId: encodeId('Customer', bob.id) });
  await make({ title: 'e Feature idea', status: 'PENDING', customerId: encodeId('Customer', bob.id), assigneeId: people.agent.id });
  await make({ title: 'f Closed issue', status: 'CLOSED', priority: 'HIGH' });
  await make({ title: 'g New LOGIN page', tags: ['ui'] });
  return { bob };
}

const test = base.extend('sevenTickets', ({ team, admin, agent, customer }) => seed(team, { admin, agent, customer }));

describe('tickets: filters', () => {
  test('each filter, and filters combined', async ({ team, agent, sevenTickets: { bob } }) => {
    const asc = { field: 'CREATED_AT', direction: 'ASC' } as const;
    const q = (filter: TicketFilter) => titles(team, { filter, orderBy: asc });
    expect(await q({})).toEqual({ titles: ['a Billing question', 'b Login broken', 'c Dashboard slow', 'd Refund please', 'e Feature idea', 'f Closed issue', 'g New LOGIN page'], total: 7 });
    expect((await q({ status: ['OPEN', 'IN_PROGRESS'] })).titles).toEqual(['b Login broken', 'c Dashboard slow']);
    expect((await q({ priority: ['HIGH', 'URGENT'] })).titles).toEqual(['b Login broken', 'c Dashboard slow', 'f Closed issue']);
    expect((await q({ category: 'Billing' })).titles).toEqual(['a Billing question', 'd Refund please']);
    expect((await q({ tags: ['LOGIN', 'perf'] })).titles).toEqual(['b Login broken', 'c Dashboard slow']);
    expect((await q({ assigneeId: agent.id })).titles).toEqual(['b Login broken', 'e Feature idea']);
    expect((await titles(team, { filter: { assignedToMe: true }, orderBy: asc }, agent.token)).titles).toEqual(['b Login broken', 'e Feature idea']);
    expect((await q({ unassigned: true })).titles).toEqual(['a Billing question', 'd Refund please', 'f Closed issue', 'g New LOGIN page']);
    expect((await q({ unassigned: false })).titles).toEqual(['b Login broken', 'c Dashboard slow', 'e Feature idea']);
    expect((await q({ customerId: encodeId('Customer', bob.id) })).titles).toEqual(['d Refund please', 'e Feature idea']);
    expect((await q({ customerId: bob.id, status: ['PENDING'] }))).toEqual({ titles: ['e Feature idea'], total: 1 });
    expect((await q({ category: 'billing', priority: ['LOW'] })).titles).toEqual(['d Refund please']);
  });

  test('search matches title, customer name and customer email: substring, any case', async ({ team, sevenTickets: _seeded }) => {
    const asc = { field: 'CREATED_AT', direction: 'ASC' } as const;
    expect((await titles(team, { filter: { search: 'login' }, orderBy: asc })).titles).toEqual(['b Login broken', 'g New LOGIN page']);
    expect((await titles(team, { filter: { search: 'BUILDER' }, orderBy: asc })).titles).toEqual(['d Refund please', 'e Feature idea']);
    expect((await titles(team, { filter: { search: `JANE@${team.team.slug.slice(5)}` }, orderBy: asc })).titles).toEqual(['a Billing question']);
    expect(await titles(team, { filter: { search: 'nothing like this' } })).toEqual({ titles: [], total: 0 });
  });

  test('search: a customer matches only within their own tickets; another team\'s customers match nothing', async ({ team, otherTeam, customer, sevenTickets: _seeded, app: { db } }) => {
    await db.customer.create({ data: { teamId: otherTeam.team.id, name: 'Bob Builder', email: `bob@${otherTeam.team.slug}.test` } });
    // Jane (the fixture's customer) searching for Bob finds none of Bob's tickets.
    expect(await titles(team, { filter: { search: 'builder' } }, customer.token)).toEqual({ titles: [], total: 0 });
    expect(await titles(team, { filter: { search: 'jane' } }, customer.token)).toEqual({ titles: ['a Billing question'], total: 1 });
    // Staff of the other team: the same name, their team only.
    expect(await titles(otherTeam, { filter: { search: 'builder' } })).toEqual({ titles: [], total: 0 });
  });

  test('search: more than a thousand matching customers still finds their tickets', async ({ team, app: { db } }) => {
    await db.customer.createMany({
      data: Array.from({ length: 1001 }, (_, i) => ({ teamId: team.team.id, name: `Many ${i}`, email: `many${i}@${team.team.slug}.test` })),
    });
    const [last] = await db.customer.findMany({ where: { teamId: team.team.id, name: 'Many 1000' } });
    await newTicket(team.keys.write, { title: 'from the last one', customerId: encodeId('Customer', last!.id) });
    await newTicket(team.keys.write, { title: 'unrelated' });
    expect(await titles(team, { filter: { search: 'MANY' } })).toEqual({ titles: ['from the last one'], total: 1 });
  });

  test('search and tag filters read GIN indexes that take new rows directly, but for substrings of messages: a bounded pending list', async ({ app: { db } }) => {
    const indexes = await db.$queryRaw<Array<{ name: string; options: string[] | null }>>`
      SELECT c.relname::text AS name, c.reloptions::text[] AS options FROM pg_class c JOIN pg_am am ON am.oid = c.relam
      WHERE am.amname = 'gin' AND c.relnamespace = 'public'::regnamespace ORDER BY c.relname`;
    const direct = (name: string) => ({ name, options: ['fastupdate=off'] });
    expect(indexes).toEqual([
      direct('customers_email_trgm_idx'),
      direct('customers_name_trgm_idx'),
      direct('customers_search_tsv_idx'),
      // About a hundred trigrams per message: direct inserts would cost each message write
      // 0.3 ms; a list of at most 512 kB costs each substring search of messages little.
      { name: 'messages_body_trgm_idx', options: ['fastupdate=on', 'gin_pending_list_limit=512'] },
      direct('messages_body_tsv_idx'),
      direct('tickets_tags_idx'),
      direct('tickets_title_trgm_idx'),
      direct('tickets_title_tsv_idx'),
    ]);
  });

  test('createdAfter and createdBefore', async ({ team, app: { db } }) => {
    const first = await newTicket(team.keys.write, { title: 'old' });
    await db.ticket.updateMany({ where: { teamId: team.team.id }, data: { createdAt: new Date('2026-01-01T00:00:00Z') } });
    await newTicket(team.keys.write, { title: 'new' });
    expect((await titles(team, { filter: { createdBefore: '2026-06-01T00:00:00Z' } })).titles).toEqual(['old']);
    expect((await titles(team, { filter: { createdAfter: '2026-06-01T00:00:00Z' } })).titles).toEqual(['new']);
    expect(first.title).toBe('old');
  });

  test('assignedToMe needs a person: an API key gets BAD_USER_INPUT', async ({ team }) => {
    const res = await execute(ListTickets, { as: team.keys.read, variables: { filter: { assignedToMe: true } } });
    expect(res.fails('BAD_USER_INPUT').extensions!.fields).toEqual([{ path: 'filter.assignedToMe', message: expect.any(String) }]);
  });
});

describe('tickets: order and paging', () => {
  test('default order is newest first; PRIORITY and UPDATED_AT both ways, ties broken by ID', async ({ team, sevenTickets: _seeded }) => {
    expect((await titles(team, {})).titles[0]).toBe('g New LOGIN page');
    const byPriority = (await titles(team, { orderBy: { field: 'PRIORITY', direction: 'DESC' } })).titles;
    expect(byPriority.slice(0, 3)).toEqual(['b Login broken', 'f Closed issue', 'c Dashboard slow']); // URGENT, then HIGH by id desc
    expect(byPriority.at(-1)).toBe('d Refund please');
    const asc = (await titles(team, { orderBy: { field: 'PRIORITY', direction: 'ASC' } })).titles;
    expect(asc).toEqual([...byPriority].reverse());
  });

  test('forward and backward paging never skips or repeats, even while tickets are created', async ({ team }) => {
    for (let i = 0; i < 12; i++) await newTicket(team.keys.write, { title: `t${String(i).padStart(2, '0')}` });
    const seen: string[] = [];
    let after: string | null | undefined;
    for (;;) {
      const page = (await execute(ListTickets, { as: team.keys.read, variables: { first: 5, after } })).ok().tickets;
      seen.push(...page.edges.map((e) => e.node.title));
      // Tickets created meanwhile are newer: they sort before the cursor and never shift the pages.
      await newTicket(team.keys.write, { title: `meanwhile ${seen.length}` });
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    expect(seen).toEqual(Array.from({ length: 12 }, (_, i) => `t${String(11 - i).padStart(2, '0')}`));

    const back: string[] = [];
    let before: string | null | undefined;
    const asc = { field: 'CREATED_AT', direction: 'ASC' } as const;
    const filter = { search: 't' };
    for (;;) {
      const page = (await execute(ListTickets, { as: team.keys.read, variables: { last: 5, before, orderBy: asc, filter } })).ok().tickets;
      back.unshift(...page.edges.map((e) => e.node.title));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor;
    }
    expect(back).toEqual(Array.from({ length: 12 }, (_, i) => `t${String(i).padStart(2, '0')}`));
  });

  test('first and last default to 20 and refuse more than 100', async ({ team, app: { db } }) => {
    await db.ticket.createMany({
      data: Array.from({ length: 25 }, (_, i) => ({ teamId: team.team.id, number: i + 1, title: `bulk ${i}` })),
    });
    const page = (await execute(ListTickets, { as: team.keys.read, variables: {} })).ok().tickets;
    expect(page.edges).toHaveLength(20);
    expect(page.totalCount).toBe(25);
    expect(page.pageInfo.hasNextPage).toBe(true);
    for (const variables of [{ first: 101 }, { last: 101 }]) {
      const res = await execute(ListTickets, { as: team.keys.read, variables });
      expect(res.fails('BAD_USER_INPUT').message).toMatch(/must be between 0 and 100/);
    }
    const negative = await execute(ListTickets, { as: team.keys.read, variables: { first: -1 } });
    expect(negative.fails('BAD_USER_INPUT').message).toBe('Argument "first" must be a non-negative integer');
    expect((await execute(ListTickets, { as: team.keys.read, variables: { first: 100 } })).ok().tickets.edges).toHaveLength(25);
  });

  test('another team’s tickets never appear, not even in totalCount', async ({ team: mine, otherTeam: theirs }) => {
    await newTicket(theirs.keys.write, { title: 'theirs' });
    await newTicket(mine.keys.write, { title: 'mine' });
    expect(await titles(mine, {})).toEqual({ titles: ['mine'], total: 1 });
  });
});

describe('no N+1', () => {
  test('tickets with customer, assignee, messageCount and messages run a fixed number of SQL statements', async ({ team, admin, agent, customer, app: { sql } }) => {
    for (let i = 0; i < 30; i++) {
      const ticket = await newTicket(team.keys.write, {
        title: `n${i}`,
        body: 'first',
        customerId: customer.id,
        assigneeId: i % 2 ? agent.id : admin.id,
      });
      if (i % 3 === 0) await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'reply' } } });
    }
    const countFor = async (first: number) => {
      await execute(Nested, { as: team.keys.read, variables: { first: 1 } }); // warm: credential lookup cached nothing, but the key's lastUsedAt is now fresh
      sql.length = 0;
      const data = (await execute(Nested, { as: team.keys.read, variables: { first } })).ok();
      expect(data.tickets.edges).toHaveLength(first);
      expect(data.tickets.edges[0]!.node.customer).toEqual({ name: 'Jane Doe' });
      // Statements of the GraphQL operation itself, without the credential lookup.
      return sql.filter((q) => !q.includes('"api_keys"')).length;
    };
    const few = await countFor(5);
    const many = await countFor(30);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(4);
  });

  test('a thread with its authors, agents and customers, runs one statement however many wrote it', async ({ team, admin, agent, customer, ticket, app: { sql } }) => {
    for (const [i, as] of [team.tokens.agent, team.tokens.admin, team.tokens.customer, team.tokens.agent, team.tokens.customer].entries()) {
      await execute(AddMessage, { as, variables: { input: { ticketId: ticket.id, body: `m${i}` } } });
    }
    const countFor = async (last: number) => {
      sql.length = 0;
      const data = (await execute(Thread, { as: team.keys.read, variables: { id: ticket.id, last } })).ok();
      // Statements of the GraphQL operation itself, without the credential lookup.
      return { authors: data.ticket!.messages.edges.map((e) => e.node.author), statements: sql.filter((q) => !q.includes('"api_keys"') && q !== 'COMMIT').length };
    };
    const few = await countFor(1);
    const all = await countFor(6);
    expect(all.authors).toEqual([
      { __typename: 'Customer', customerName: customer.name, email: customer.email },
      { __typename: 'Agent', agentName: agent.name, role: 'AGENT' },
      { __typename: 'Agent', agentName: admin.name, role: 'ADMIN' },
      { __typename: 'Customer', customerName: customer.name, email: customer.email },
      { __typename: 'Agent', agentName: agent.name, role: 'AGENT' },
      { __typename: 'Customer', customerName: customer.name, email: customer.email },
    ]);
    expect(few.statements).toBe(1);
    expect(all.statements).toBe(1);
  });
});
