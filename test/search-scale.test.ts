// Search at scale: substrings of message bodies through the trigram index, and the
// bound on what a page ranks and counts (SEARCH_CANDIDATES most recent matches of each
// kind), which never depends on what the caller may not see.
import { describe, expect } from 'vitest';
import { decodeId } from '../src/ids.js';
import { SEARCH_CANDIDATES } from '../src/schema/tickets/search.js';
import { graphql } from './generated/index.js';
import type { TicketFilter, TicketOrder } from './generated/graphql.js';
import { execute, testApp } from './support/app.js';
import { test, type TeamFixture } from './support/fixtures.js';
import { AddMessage, newTicket } from './support/operations.js';

const Search = graphql(`
  query SearchAtScale($filter: TicketFilter, $orderBy: TicketOrder, $first: Int) {
    tickets(filter: $filter, orderBy: $orderBy, first: $first) {
      totalCount
      totalCountIsLowerBound
      edges { snippet matchedIn node { id title } }
    }
  }
`);

const byDate: TicketOrder = { field: 'CREATED_AT', direction: 'DESC' };

async function search(as: string, filter: TicketFilter, orderBy: TicketOrder = { field: 'RELEVANCE', direction: 'DESC' }, first = 20) {
  const { tickets } = (await execute(Search, { as, variables: { filter, orderBy, first } })).ok();
  return { titles: tickets.edges.map((e) => e.node.title), total: tickets.totalCount, capped: tickets.totalCountIsLowerBound, edges: tickets.edges };
}

describe('substrings of message bodies', () => {
  test('part of an order number or an email in a message matches, with the substring marked', async ({ team, customer }) => {
    const t = await newTicket(team.keys.write, { title: 'Where is my parcel', body: 'Tracking says ORD-558812 left on Monday, reply to zoe.k@example.org', customerId: customer.id });
    await newTicket(team.keys.write, { title: 'Another', body: 'Nothing to see', customerId: customer.id });
    const order = await search(team.keys.read, { search: '55881' });
    expect(order.titles).toEqual(['Where is my parcel']);
    expect(order.edges[0]).toMatchObject({ matchedIn: 'MESSAGE', snippet: 'Tracking says ORD-<mark>55881</mark>2 left on Monday, reply to zoe.k@example.org' });
    expect((await search(team.keys.read, { search: 'zoe.k@exam' }, byDate)).titles).toEqual(['Where is my parcel']);
    expect((await search(team.keys.read, { search: 'D-5588' })).total).toBe(1);
    // Letters only are words, not substrings: "racking" is no word of the message.
    expect((await search(team.keys.read, { search: 'racking' })).total).toBe(0);
    expect((await search(customer.token, { search: '55881' })).titles).toEqual(['Where is my parcel']);
    expect(t.id).toBeTruthy();
  });

  test("a customer never matches a substring of an internal note: no hit, no count", async ({ team, customer }) => {
    const t = await newTicket(team.keys.write, { title: 'Refund', body: 'Please refund me', customerId: customer.id });
    (await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: t.id, body: 'Chargeback case CB-990417 opened', isInternal: true } } })).ok();
    expect(await search(customer.token, { search: 'CB-9904' })).toMatchObject({ titles: [], total: 0, capped: false });
    expect((await search(team.keys.read, { search: 'CB-9904' })).edges.map((e) => [e.node.title, e.matchedIn])).toEqual([['Refund', 'MESSAGE']]);
    expect((await search(team.keys.read, { search: 'CB-9904', searchIn: ['PUBLIC_MESSAGES'] })).total).toBe(0);
  });
});

describe('a search that matches more than it ranks', () => {
  test(`ranks and counts the ${SEARCH_CANDIDATES} most recent matches of each kind and says so; fewer are counted exactly`, async ({ team, customer }) => {
    const { db } = testApp();
    const old = await newTicket(team.keys.write, { title: 'The oldest', body: 'quokka sighting', customerId: customer.id });
    const bulk = await newTicket(team.keys.write, { title: 'Many', body: 'first message', customerId: customer.id });
    const bulkId = (await db.ticket.findFirstOrThrow({ where: { teamId: team.team.id, title: 'Many' }, select: { id: true } })).id;
    // Written after the oldest ticket's message: these are the most recent matches.
    await db.$executeRaw`
      INSERT INTO messages (id, ticket_id, sender, body, is_internal, created_at)
      SELECT gen_random_uuid(), ${bulkId}::uuid, 'AGENT', 'quokka number ' || g, false, now() + g * interval '1 millisecond'
      FROM generate_series(1, ${SEARCH_CANDIDATES}) g`;
    const newest = await newTicket(team.keys.write, { title: 'The newest', body: 'another quokka', customerId: customer.id });

    const broad = await search(team.keys.read, { search: 'quokka' }, byDate);
    expect(broad).toMatchObject({ capped: true, titles: ['The newest', 'Many'] });
    // Two tickets have matches among the most recent ones; the oldest's is left out.
    expect(broad.total).toBe(2);
    // Narrowed to what the bound leaves out, the count is exact again.
    expect(await search(team.keys.read, { search: 'quokka sighting' })).toMatchObject({ titles: ['The oldest'], total: 1, capped: false });
    expect(await search(team.keys.read, { search: 'quokka', customerId: customer.id }, byDate)).toMatchObject({ capped: true });
    expect([old.id, bulk.id, newest.id].every(Boolean)).toBe(true);
  });

  test("internal notes never fill a customer's bound: their search counts exactly what they may see", async ({ team, customer }) => {
    const { db } = testApp();
    const mine = await newTicket(team.keys.write, { title: 'Mine', body: 'wombat burrow', customerId: customer.id });
    const notes = await newTicket(team.keys.write, { title: 'Noted', body: 'hello', customerId: customer.id });
    const notesId = (await db.ticket.findFirstOrThrow({ where: { teamId: team.team.id, title: 'Noted' }, select: { id: true } })).id;
    await db.$executeRaw`
      INSERT INTO messages (id, ticket_id, sender, body, is_internal, created_at)
      SELECT gen_random_uuid(), ${notesId}::uuid, 'AGENT', 'wombat note ' || g, true, now() + g * interval '1 millisecond'
      FROM generate_series(1, ${SEARCH_CANDIDATES + 5}) g`;
    expect(await search(customer.token, { search: 'wombat' })).toMatchObject({ titles: ['Mine'], total: 1, capped: false });
    // Staff see the notes, the most recent matches: the older public message is past the bound.
    expect(await search(team.keys.read, { search: 'wombat' }, byDate)).toMatchObject({ capped: true, titles: ['Noted'], total: 1 });
    expect([mine.id, notes.id].every(Boolean)).toBe(true);
  });
});

describe('the most recent matches, whatever days they were written on', () => {
  /** Tickets titled by `days` ago (negative: ahead), each with `n` messages of `word` written then. */
  async function written(team: TeamFixture, word: string, spread: Array<{ title: string; n: number; days: number }>) {
    const { db } = testApp();
    for (const { title, n, days } of spread) {
      const ticket = await newTicket(team.keys.write, { title, body: 'hello' });
      await db.$executeRaw`
        INSERT INTO messages (id, ticket_id, sender, body, is_internal, created_at)
        SELECT gen_random_uuid(), ${decodeId(ticket.id)!.uuid}::uuid, 'AGENT', ${word} || ' ' || g, false, now() - ${days} * interval '1 day' - g * interval '1 millisecond'
        FROM generate_series(1, ${n}) g`;
    }
  }
  const found = async (as: string, text: string) => {
    const r = await search(as, { search: text }, byDate, 50);
    return { titles: [...r.titles].sort(), total: r.total, capped: r.capped };
  };

  test('the bound is reached days back: the newest matches are ranked, the oldest left out', async ({ team }) => {
    await written(team, 'numbat', [
      { title: 'today', n: 400, days: 0 },
      { title: 'two days ago', n: 300, days: 2 },
      { title: 'five days ago', n: 400, days: 5 },
      { title: 'a month ago', n: 1, days: 30 },
      { title: 'a month ahead', n: 1, days: -30 },
    ]);
    // The one dated ahead, 400 + 300, and 300 of the 400 five days old: the month-old match is past the bound.
    expect(await found(team.keys.read, 'numbat')).toEqual({ titles: ['a month ahead', 'five days ago', 'today', 'two days ago'], total: 4, capped: true });
    // Narrowed to fewer matches, the month-old one is found again.
    expect(await found(team.keys.read, 'numbat 1')).toMatchObject({ total: 5, capped: false });
  });

  test('the days before the recent ones reach the bound: nothing older is counted', async ({ team }) => {
    await written(team, 'dingo', [
      { title: 'today', n: 400, days: 0 },
      { title: 'two days ago', n: 700, days: 2 },
      { title: 'five days ago', n: 1, days: 5 },
    ]);
    expect(await found(team.keys.read, 'dingo')).toEqual({ titles: ['today', 'two days ago'], total: 2, capped: true });
  });

  test('fewer matches than the bound are all found: days back, months back, and dated ahead of the clock', async ({ team }) => {
    await written(team, 'bilby', [
      { title: 'today', n: 30, days: 0 },
      { title: 'two days ago', n: 30, days: 2 },
      { title: 'a hundred days ago', n: 1, days: 100 },
      { title: 'a month ahead', n: 1, days: -30 },
    ]);
    expect(await found(team.keys.read, 'bilby')).toEqual({
      titles: ['a hundred days ago', 'a month ahead', 'today', 'two days ago'],
      total: 4,
      capped: false,
    });
    // A word seldom written lately: its old matches are found too.
    await written(team, 'quoll', [
      { title: 'quoll today', n: 5, days: 0 },
      { title: 'quoll long ago', n: 1, days: 200 },
    ]);
    expect(await found(team.keys.read, 'quoll')).toEqual({ titles: ['quoll long ago', 'quoll today'], total: 2, capped: false });
  });
});
