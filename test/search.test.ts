import { describe, expect } from 'vitest';
import { graphql } from './generated/index.js';
import type { TicketFilter, TicketOrder } from './generated/graphql.js';
import { signToken } from '../src/auth/tokens.js';
import { execute, JWT_SECRET, testApp } from './support/app.js';
import { test, type TeamFixture } from './support/fixtures.js';
import { AddMessage, newTicket } from './support/operations.js';

const Search = graphql(`
  query SearchTickets($filter: TicketFilter, $orderBy: TicketOrder, $first: Int, $after: String) {
    tickets(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
      totalCount
      pageInfo { hasNextPage endCursor }
      edges { cursor snippet matchedIn rank node { id title } }
    }
  }
`);

const SetSearchConfiguration = graphql(`
  mutation SetSearchConfiguration($input: UpdateTeamInput!) {
    updateTeam(input: $input) { team { searchConfiguration } }
  }
`);

const relevance: TicketOrder = { field: 'RELEVANCE', direction: 'DESC' };

async function search(as: string, filter: TicketFilter, orderBy: TicketOrder = relevance) {
  const data = (await execute(Search, { as, variables: { filter, orderBy } })).ok();
  return { titles: data.tickets.edges.map((e) => e.node.title), total: data.tickets.totalCount, edges: data.tickets.edges };
}

/** Tickets whose words are only in their messages, one with an internal note. */
async function thread(team: TeamFixture, customerId: string) {
  const write = team.keys.write;
  const add = async (ticketId: string, body: string, isInternal = false) => {
    (await execute(AddMessage, { as: write, variables: { input: { ticketId, body, isInternal } } })).ok();
  };
  const printer = await newTicket(write, { title: 'Printer trouble', body: 'The paper tray jams every morning', customerId });
  const refund = await newTicket(write, { title: 'Money back', body: 'I want a refund for order 4471, a full refund', customerId });
  const paypal = await newTicket(write, { title: 'Payment', body: 'Refund it to my PayPal account please', customerId });
  const toner = await newTicket(write, { title: 'Toner', body: 'Toner is low', customerId });
  await add(toner.id, 'Supplier says the cartridge is discontinued, offer the zebracorn model', true);
  const refundTitle = await newTicket(write, { title: 'Refund refund', body: 'refund needed after the refund was refused', customerId });
  return { printer, refund, paypal, toner, refundTitle };
}

describe('full-text search', () => {
  test('matches words of message bodies, phrases, exclusions and or, ranked, with snippets', async ({ team, customer }) => {
    const t = await thread(team, customer.id);
    const as = team.keys.read;

    const jam = await search(as, { search: 'jams' });
    expect(jam.titles).toEqual(['Printer trouble']);
    expect(jam.edges[0]).toMatchObject({ matchedIn: 'MESSAGE', snippet: 'The paper tray <mark>jams</mark> every morning' });

    // Ranking: a title that says it twice and a thread that says it twice come first.
    const refunds = await search(as, { search: 'refund' });
    expect(refunds.titles).toEqual(['Refund refund', 'Money back', 'Payment']);
    expect(refunds.total).toBe(3);
    expect(refunds.edges[0]!.rank!).toBeGreaterThan(refunds.edges[1]!.rank!);

    expect((await search(as, { search: 'refund -paypal' })).titles).toEqual(['Refund refund', 'Money back']);
    expect((await search(as, { search: '"paper tray"' })).titles).toEqual(['Printer trouble']);
    expect((await search(as, { search: '"tray paper"' })).titles).toEqual([]);
    expect((await search(as, { search: 'paypal or jams' }, { field: 'CREATED_AT', direction: 'ASC' })).titles).toEqual(['Printer trouble', 'Payment']);
    // Substrings still match titles and customers (an order number, part of an email).
    expect((await search(as, { search: 'rinter' })).titles).toEqual(['Printer trouble']);
    expect((await search(as, { search: customer.email.slice(2, 9) })).total).toBe(5);
    expect(t.refund.id).toBeTruthy();
  });

  test("a hit shows its ticket's best match; its rank is the sum of the ticket's matches", async ({ team, customer }) => {
    const write = team.keys.write;
    const thread = await newTicket(write, { title: 'Kiwi', body: 'one kiwi', customerId: customer.id });
    (await execute(AddMessage, { as: write, variables: { input: { ticketId: thread.id, body: 'kiwi kiwi kiwi kiwi' } } })).ok();
    await newTicket(write, { title: 'Kiwi kiwi kiwi', body: 'a kiwi', customerId: customer.id });
    const as = team.keys.read;
    const hits = (await search(as, { search: 'kiwi' })).edges;
    const hit = (title: string) => hits.find((e) => e.node.title === title)!;
    expect(hit('Kiwi')).toMatchObject({ matchedIn: 'MESSAGE', snippet: '<mark>kiwi</mark> <mark>kiwi</mark> <mark>kiwi</mark> <mark>kiwi</mark>' });
    expect(hit('Kiwi kiwi kiwi')).toMatchObject({ matchedIn: 'TITLE', snippet: '<mark>Kiwi</mark> <mark>kiwi</mark> <mark>kiwi</mark>' });
    const rankIn = async (searchIn: Array<'TITLE' | 'PUBLIC_MESSAGES'>) => (await search(as, { search: 'kiwi', searchIn })).edges.find((e) => e.node.title === 'Kiwi')!.rank!;
    expect(hit('Kiwi').rank).toBeCloseTo((await rankIn(['TITLE'])) + (await rankIn(['PUBLIC_MESSAGES'])), 6);
    expect(await rankIn(['PUBLIC_MESSAGES'])).toBeGreaterThan(await rankIn(['TITLE']));
  });

  test('staff find internal notes and can restrict a search to public or internal messages', async ({ team, customer }) => {
    await thread(team, customer.id);
    const as = team.keys.read;
    expect((await search(as, { search: 'zebracorn' })).edges.map((e) => [e.node.title, e.matchedIn])).toEqual([['Toner', 'MESSAGE']]);
    expect((await search(as, { search: 'zebracorn', searchIn: ['PUBLIC_MESSAGES'] })).total).toBe(0);
    expect((await search(as, { search: 'zebracorn', searchIn: ['INTERNAL_MESSAGES'] })).titles).toEqual(['Toner']);
    expect((await search(as, { search: 'toner', searchIn: ['INTERNAL_MESSAGES'] })).titles).toEqual([]);
  });

  test("a customer's search never matches an internal note: no hit, no count, no rank", async ({ team, customer, execute }) => {
    const t = await thread(team, customer.id);
    const mine = await search(customer.token, { search: 'zebracorn' });
    expect(mine).toMatchObject({ titles: [], total: 0 });
    // A word of the note and of a public message: ranked as if the note were not there.
    const write = team.keys.write;
    (await execute(AddMessage, { as: write, variables: { input: { ticketId: t.toner.id, body: 'cartridge cartridge cartridge', isInternal: true } } })).ok();
    (await execute(AddMessage, { as: write, variables: { input: { ticketId: t.printer.id, body: 'new cartridge ordered' } } })).ok();
    expect((await search(customer.token, { search: 'cartridge' })).titles).toEqual(['Printer trouble']);
    expect((await search(team.keys.read, { search: 'cartridge' })).titles).toEqual(['Toner', 'Printer trouble']);
    expect((await search(customer.token, { search: 'cartridge' })).total).toBe(1);
    const refused = await execute(Search, { as: customer.token, variables: { filter: { search: 'cartridge', searchIn: ['INTERNAL_MESSAGES'] } } });
    refused.fails('FORBIDDEN');
  });

  test('other teams and other customers are never matched', async ({ team, otherTeam, customer }) => {
    await thread(team, customer.id);
    expect((await search(otherTeam.keys.read, { search: 'refund' })).total).toBe(0);
    const { db } = testApp();
    const other = await db.customer.create({ data: { teamId: team.team.id, name: 'Otto Other', email: `otto@${team.team.slug}.test` } });
    const otto = await signToken(JWT_SECRET, { sub: 'otto', team: team.teamId, role: 'customer', email: other.email }, '1h');
    expect((await search(otto, { search: 'refund' })).total).toBe(0);
  });

  test('pages through hits in relevance order with cursors', async ({ team, customer, execute }) => {
    await thread(team, customer.id);
    const first = (await execute(Search, { as: team.keys.read, variables: { filter: { search: 'refund' }, orderBy: relevance, first: 2 } })).ok();
    expect(first.tickets.edges.map((e) => e.node.title)).toEqual(['Refund refund', 'Money back']);
    expect(first.tickets.pageInfo.hasNextPage).toBe(true);
    const next = (
      await execute(Search, { as: team.keys.read, variables: { filter: { search: 'refund' }, orderBy: relevance, first: 2, after: first.tickets.pageInfo.endCursor } })
    ).ok();
    expect(next.tickets.edges.map((e) => e.node.title)).toEqual(['Payment']);
    expect(next.tickets.pageInfo.hasNextPage).toBe(false);
    expect(next.tickets.totalCount).toBe(3);
  });

  test("the team's search configuration: simple by default, english stems words", async ({ team, customer, execute }) => {
    await newTicket(team.keys.write, { title: 'Something', body: 'My printers are jamming', customerId: customer.id });
    expect((await search(team.keys.read, { search: 'jam' })).total).toBe(0);
    const set = await execute(SetSearchConfiguration, { as: team.keys.admin, variables: { input: { id: team.teamId, searchConfiguration: 'english' } } });
    expect(set.ok().updateTeam.team.searchConfiguration).toBe('english');
    // Existing texts are indexed again in the new language, and new ones in it.
    expect((await search(team.keys.read, { search: 'jam' })).titles).toEqual(['Something']);
    await newTicket(team.keys.write, { title: 'Another', body: 'Printing stopped', customerId: customer.id });
    expect((await search(team.keys.read, { search: 'stops' })).titles).toEqual(['Another']);
    expect((await search(team.keys.read, { search: 'printer' })).titles).toEqual(['Something']);
    const bad = await execute(SetSearchConfiguration, { as: team.keys.admin, variables: { input: { id: team.teamId, searchConfiguration: 'klingon' } } });
    expect(bad.fails('BAD_USER_INPUT').extensions?.fields).toEqual([{ path: 'input.searchConfiguration', message: expect.stringContaining('english') }]);
    const byAgent = await execute(SetSearchConfiguration, { as: team.tokens.agent, variables: { input: { id: team.teamId, searchConfiguration: 'simple' } } });
    byAgent.fails('FORBIDDEN');
  });

  test('a page of hits runs a fixed number of SQL statements, whatever its size (totalCount included)', async ({ team, customer, app: { sql } }) => {
    for (let i = 0; i < 12; i++) await newTicket(team.keys.write, { title: `Lamp ${i}`, body: 'the lamp flickers', customerId: customer.id });
    const countFor = async (first: number) => {
      await search(team.keys.read, { search: 'flickers' });
      sql.length = 0;
      const data = (await execute(Search, { as: team.keys.read, variables: { filter: { search: 'flickers' }, orderBy: relevance, first } })).ok();
      expect(data.tickets.edges).toHaveLength(first);
      expect(data.tickets.totalCount).toBe(12);
      return sql.filter((q) => !q.includes('"api_keys"')).length;
    };
    const few = await countFor(2);
    const many = await countFor(12);
    expect(many).toBe(few);
    // The team's configuration, the page with its count and snippets, the tickets' rows.
    expect(many).toBeLessThanOrEqual(3);
  });

  test('bad input: too long, RELEVANCE without a search; any syntax is answered', async ({ team, execute }) => {
    const long = await execute(Search, { as: team.keys.read, variables: { filter: { search: 'x'.repeat(501) } } });
    expect(long.fails('BAD_USER_INPUT').extensions?.fields).toEqual([{ path: 'filter.search', message: 'must be at most 500 characters' }]);
    const noSearch = await execute(Search, { as: team.keys.read, variables: { orderBy: relevance } });
    expect(noSearch.fails('BAD_USER_INPUT').extensions?.fields).toEqual([{ path: 'orderBy.field', message: 'RELEVANCE sorts searches only: give filter.search' }]);
    for (const text of ['"', '-', '(a | b', 'or or', '!!', "'; drop table tickets", '\\', '%_', 'a & !b', '-"']) {
      expect((await search(team.keys.read, { search: text })).total).toBe(0);
    }
  });
});
