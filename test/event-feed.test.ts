// Read-your-writes and the query-side feed: every mutation payload's `cursor`, the
// `events` connection (role-aware as the subscription), the seam between paging the
// feed and subscribing with `after`, and tickets changed in a time window.
import { afterAll, beforeAll, describe, expect } from 'vitest';
import { isObjectType } from 'graphql';
import { schema } from '../src/schema/index.js';
import { graphql } from './generated/index.js';
import { testApp } from './support/app.js';
import { test } from './support/fixtures.js';
import { disposeLive, listening, subscribe, wsClient } from './support/live.js';
import { AddMessage, UpdateTicket, newTicket } from './support/operations.js';
import { SECRETS } from './support/world.js';

const Feed = graphql(`
  query Feed($after: String, $first: Int, $filter: TicketEventFilter) {
    events(after: $after, first: $first, filter: $filter) {
      edges { cursor node { cursor type ticketId changedFields message { body isInternal } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`);
const UpdateWithCursor = graphql(`
  mutation UpdateWithCursor($input: UpdateTicketInput!) { updateTicket(input: $input) { cursor ticket { id } } }
`);
const CustomerWithCursor = graphql(`
  mutation CustomerWithCursor($input: CreateCustomerInput!) { createCustomer(input: $input) { cursor } }
`);
const TwoWrites = graphql(`
  mutation TwoWrites($a: UpdateTicketInput!, $b: UpdateTicketInput!) {
    first: updateTicket(input: $a) { cursor }
    second: updateTicket(input: $b) { cursor }
  }
`);
const PageWithTickets = graphql(`
  query PageWithTickets { events(first: 50) { edges { node { cursor ticket { id title } message { body } } } } }
`);
const ChangedTickets = graphql(`
  query ChangedTickets($filter: TicketFilter) { tickets(first: 50, filter: $filter) { edges { node { id updatedAt } } } }
`);

let base: string;
beforeAll(async () => {
  base = await testApp().app.start(0);
});
afterAll(() => disposeLive());

describe('read-your-writes: every mutation payload carries a cursor', () => {
  test('every payload type of the schema has the field', () => {
    const mutation = schema.getMutationType()!;
    const missing = Object.values(mutation.getFields()).filter((field) => {
      const payload = field.type.toString().replace(/!$/, '');
      const type = schema.getType(payload);
      return !isObjectType(type) || !type.getFields().cursor;
    });
    expect(missing.map((f) => f.name)).toEqual([]);
  });

  test('the cursor is the position of the event the mutation committed, and the subscription delivers it', async ({ team, ticket, execute }) => {
    const feed = subscribe(wsClient(base, team.tokens.agent), 'subscription { ticketEvents { cursor type } }');
    await listening(team.team.id, 1);
    const res = await execute(UpdateWithCursor, { as: team.tokens.agent, variables: { input: { id: ticket.id, priority: 'HIGH' } } });
    const { cursor } = res.ok().updateTicket;
    const [event] = await feed.waitFor(1);
    expect(event!.data!.ticketEvents).toEqual({ cursor, type: 'UPDATED' });
  });

  test('each mutation of one request has its own cursor; one that records no event has null', async ({ team, ticket, execute }) => {
    const res = await execute(TwoWrites, {
      as: team.tokens.agent,
      variables: { a: { id: ticket.id, category: 'one' }, b: { id: ticket.id, category: 'two' } },
    });
    const { first, second } = res.ok();
    expect(BigInt(second.cursor!)).toBe(BigInt(first.cursor!) + 1n);
    const customer = await execute(CustomerWithCursor, { as: team.tokens.agent, variables: { input: { email: 'no-event@example.com' } } });
    expect(customer.ok().createCustomer.cursor).toBeNull();
  });

  test('a mutation that changes nothing records no event and answers null', async ({ team, ticket, execute }) => {
    const res = await execute(UpdateWithCursor, { as: team.tokens.agent, variables: { input: { id: ticket.id, title: ticket.title } } });
    expect(res.ok().updateTicket.cursor).toBeNull();
  });
});

describe('the events feed', () => {
  test('pages through the log in order; a customer sees the public events of their own tickets only', async ({ team, customer, ticket, execute }) => {
    const other = await newTicket(team.keys.write, { title: 'Not hers', customer: { email: 'someone@example.com' } });
    await execute(AddMessage, { as: team.tokens.agent, variables: { input: { ticketId: ticket.id, body: SECRETS.internal, isInternal: true } } });
    await execute(UpdateTicket, { as: team.tokens.agent, variables: { input: { id: ticket.id, notes: SECRETS.notes } } });
    await execute(AddMessage, { as: team.tokens.agent, variables: { input: { ticketId: ticket.id, body: 'We are on it' } } });
    await execute(UpdateTicket, { as: team.tokens.agent, variables: { input: { id: other.id, priority: 'HIGH' } } });

    const staff = (await execute(Feed, { as: team.tokens.agent, variables: { first: 100 } })).ok().events;
    expect(staff.edges.map((e) => [e.node.type, e.node.ticketId])).toEqual([
      ['CREATED', ticket.id],
      ['CREATED', other.id],
      ['MESSAGE_ADDED', ticket.id],
      ['UPDATED', ticket.id],
      ['MESSAGE_ADDED', ticket.id],
      ['UPDATED', other.id],
    ]);
    expect(staff.edges.map((e) => e.cursor)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(staff.edges.map((e) => e.node.cursor)).toEqual(['1', '2', '3', '4', '5', '6']);
    expect(staff.pageInfo).toEqual({ hasNextPage: false, endCursor: '6' });

    const theirs = (await execute(Feed, { as: customer.token, variables: { first: 100 } })).ok().events;
    expect(theirs.edges.map((e) => [e.cursor, e.node.type, e.node.message?.body ?? null])).toEqual([
      ['1', 'CREATED', 'Smoke everywhere'],
      ['5', 'MESSAGE_ADDED', 'We are on it'],
    ]);
    expect(JSON.stringify(theirs)).not.toContain(SECRETS.internal);

    // Two at a time, from the beginning ("0"), then filtered.
    const page1 = (await execute(Feed, { as: team.tokens.agent, variables: { after: '0', first: 2 } })).ok().events;
    expect(page1.edges.map((e) => e.cursor)).toEqual(['1', '2']);
    expect(page1.pageInfo).toEqual({ hasNextPage: true, endCursor: '2' });
    const page2 = (await execute(Feed, { as: team.tokens.agent, variables: { after: '2', first: 2 } })).ok().events;
    expect(page2.edges.map((e) => e.cursor)).toEqual(['3', '4']);
    const messages = (
      await execute(Feed, { as: team.tokens.agent, variables: { filter: { ticketId: ticket.id, types: ['MESSAGE_ADDED'] } } })
    ).ok().events;
    expect(messages.edges.map((e) => e.cursor)).toEqual(['3', '5']);
    // At the end, an empty page keeps the caller's cursor.
    const end = (await execute(Feed, { as: team.tokens.agent, variables: { after: '6' } })).ok().events;
    expect(end).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: '6' } });
  });

  test("another team's log is invisible; anonymous callers are refused", async ({ team, otherTeam, ticket, execute }) => {
    expect(ticket.id).toBeTruthy();
    const foreign = (await execute(Feed, { as: otherTeam.keys.admin, variables: {} })).ok().events;
    expect(foreign.edges).toEqual([]);
    const anonymous = await execute(Feed, { variables: {} });
    anonymous.fails('UNAUTHENTICATED');
    expect(anonymous.data ?? null).toBeNull();
    expect((await execute(Feed, { as: team.keys.read, variables: {} })).ok().events.edges).toHaveLength(1);
  });

  test('bad input: first above 100, a negative first, and cursors that are not log positions', async ({ team, execute }) => {
    const tooMany = (await execute(Feed, { as: team.keys.read, variables: { first: 101 } })).fails('BAD_USER_INPUT');
    expect(tooMany.extensions!.fields).toEqual([{ path: 'first', message: 'must be between 0 and 100' }]);
    (await execute(Feed, { as: team.keys.read, variables: { first: -1 } })).fails('BAD_USER_INPUT');
    for (const after of ['abc', '-1', '1.5', 'evt_123', '', '99999999999999999999', '9223372036854775808']) {
      const error = (await execute(Feed, { as: team.keys.read, variables: { after } })).fails('BAD_USER_INPUT');
      expect(error.extensions!.fields).toEqual([{ path: 'after', message: 'must be the cursor of a TicketEvent' }]);
    }
  });

  test('paging the feed to its end, then subscribing with after, yields every event exactly once under concurrent writes', async ({
    team,
    ticket,
    execute,
  }) => {
    const write = (i: number) => execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, category: `c${i}` } } });
    const TOTAL = 30;
    // Writers run while the integrator pages and then subscribes.
    const writers = (async () => {
      for (let i = 0; i < TOTAL; i += 3) await Promise.all([write(i), write(i + 1), write(i + 2)]);
    })();
    const seen: string[] = [];
    let after = '0';
    for (let page = 0; page < 3; page++) {
      const events = (await execute(Feed, { as: team.keys.read, variables: { after, first: 5 } })).ok().events;
      seen.push(...events.edges.map((e) => e.cursor));
      after = events.pageInfo.endCursor ?? after;
    }
    const live = subscribe(wsClient(base, team.keys.read), 'subscription($after: String) { ticketEvents(after: $after) { cursor } }', { after });
    await writers;
    const expected = Array.from({ length: TOTAL + 1 }, (_, i) => String(i + 1));
    const rest = await live.waitFor(expected.length - seen.length);
    seen.push(...rest.map((r) => r.data!.ticketEvents.cursor as string));
    expect(seen).toEqual(expected);
  });
});

describe('the feed reads a page in a fixed number of statements', () => {
  test("its events' tickets and messages are read once per page, however many events", async ({ team, app: { sql }, execute }) => {
    for (let i = 0; i < 6; i++) await newTicket(team.keys.write, { title: `Page ${i}`, body: `Body ${i}` });
    sql.length = 0;
    const page = (await execute(PageWithTickets, { as: team.keys.read, variables: {} })).ok().events.edges;
    expect(page.map((e) => [e.node.ticket!.title, e.node.message?.body ?? null])).toEqual(
      Array.from({ length: 6 }, (_, i) => [`Page ${i}`, `Body ${i}`]),
    );
    const from = (table: string) => sql.filter((q) => new RegExp(`FROM "public"\\."${table}"`).test(q));
    expect([from('ticket_events').length, from('tickets').length, from('messages').length]).toEqual([1, 1, 1]);
  });
});

describe('tickets changed in a time window', () => {
  test('updatedAfter / updatedBefore; a customer filters by the changes they can see', async ({ team, customer, execute }) => {
    const before = await newTicket(team.keys.write, { title: 'Old', customerId: customer.id });
    const changed = await newTicket(team.keys.write, { title: 'Changed', customerId: customer.id });
    const mark = new Date().toISOString();
    await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: changed.id, status: 'OPEN' } } });
    // A staff-only change of the old ticket: staff see it as changed, its customer does not.
    await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: before.id, notes: SECRETS.notes } } });
    const ids = async (as: string, filter: Record<string, string>) =>
      (await execute(ChangedTickets, { as, variables: { filter } })).ok().tickets.edges.map((e) => e.node.id).sort();
    expect(await ids(team.tokens.agent, { updatedAfter: mark })).toEqual([before.id, changed.id].sort());
    expect(await ids(customer.token, { updatedAfter: mark })).toEqual([changed.id]);
    expect(await ids(customer.token, { updatedBefore: mark })).toEqual([before.id]);
    expect(await ids(team.tokens.agent, { updatedBefore: mark })).toEqual([]);
  });
});
