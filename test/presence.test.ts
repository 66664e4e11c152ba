// Presence: who is on a ticket and doing what. Agents see each other and the customer;
// a customer sees at most that an agent is typing. Entries lapse after the TTL, go at
// once when the connection that made them closes, and cross processes through Redis.
import { afterAll, beforeAll, describe, expect, inject } from 'vitest';
import { signToken } from '../src/auth/tokens.js';
import { encodeId } from '../src/ids.js';
import { createEventBus } from '../src/live/bus.js';
import { connectRedis } from '../src/live/redis.js';
import { createLogger } from '../src/logger.js';
import { graphql } from './generated/index.js';
import { JWT_SECRET, startOtherApp, testApp } from './support/app.js';
import { createTeam, test, type TeamFixture } from './support/fixtures.js';
import { leftover } from './support/leftovers.js';
import { disposeLive, subscribe, subscribeSse, wsClient, type LiveSubscription, type Received } from './support/live.js';
import { newTicket } from './support/operations.js';
import { cleanEnv, run } from './support/process.js';
import { redisServer } from './support/redis.js';
import { eventually } from './support/wait.js';

const SetPresence = graphql(`
  mutation SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { cursor stored presence { ticketId entries { kind state name participantId } } }
  }
`);
const TicketWithPresence = graphql(`
  query TicketWithPresence($id: ID!) { ticket(id: $id) { id presence { entries { kind state name participantId } } } }
`);
const ShowNames = graphql(`
  mutation ShowNames($input: UpdateTeamInput!) { updateTeam(input: $input) { team { presenceShowsAgentNames } } }
`);
const NewKey = graphql(`mutation PresenceKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`);
const RevokeKey = graphql(`mutation PresenceRevoke($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }`);
const SET = 'mutation($input: SetPresenceInput!) { setPresence(input: $input) { stored } }';
const WATCH = 'subscription($ticketId: ID!) { ticketPresence(ticketId: $ticketId) { ticketId entries { kind state name participantId } } }';

type Entry = { kind: string; state: string; name: string | null; participantId: string | null };
const entriesOf = (r: Received) => r.data?.ticketPresence.entries as Entry[];
/** The latest presence a subscription received. */
const latest = (s: LiveSubscription) => entriesOf(s.received.at(-1)!);
/** Waits until the latest presence the subscription received passes `check`. */
const until = (s: LiveSubscription, check: (entries: Entry[]) => boolean, what: string, timeoutMs?: number) =>
  eventually(() => s.received.length > 0 && check(latest(s)), { timeoutMs, what: () => `${what}; got ${JSON.stringify(s.received)}` });

async function gql(base: string, as: string | undefined, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(as && { authorization: `Bearer ${as}` }) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
}

/** A second agent of the team and their token. */
async function secondAgent(t: TeamFixture) {
  const { db } = testApp();
  const bea = await db.agent.create({ data: { teamId: t.team.id, name: 'Bea Agent', email: `bea@${t.team.slug}.test`, role: 'AGENT' } });
  const token = await signToken(JWT_SECRET, { sub: encodeId('Agent', bea.id), team: t.teamId, role: 'agent', email: bea.email }, '1h');
  return { id: encodeId('Agent', bea.id), token };
}

let base: string;
beforeAll(async () => {
  base = await testApp().app.start(0);
});
afterAll(() => disposeLive());

describe('who is on a ticket, as each role sees it', () => {
  test('agents see each other and the customer; the customer only ever sees that an agent is typing', async ({ team, agent, customer, ticket, execute }) => {
    const bea = await secondAgent(team);
    const staff = subscribe(wsClient(base, bea.token), WATCH, { ticketId: ticket.id });
    const theirs = subscribeSse(base, customer.token, WATCH, { ticketId: ticket.id });
    await staff.waitFor(1);
    await theirs.waitFor(1);
    expect(latest(staff)).toEqual([]);
    expect(latest(theirs)).toEqual([]);

    const beat = (as: string, state: string) => execute(SetPresence, { as, variables: { input: { ticketId: ticket.id, state: state as never } } });
    const viewing = (await beat(agent.token, 'VIEWING')).ok().setPresence;
    expect(viewing.stored).toBe(true);
    expect(viewing.cursor).toBeNull();
    expect(viewing.presence.entries).toEqual([{ kind: 'AGENT', state: 'VIEWING', name: 'Alex Agent', participantId: agent.id }]);
    await until(staff, (e) => e[0]?.state === 'VIEWING', "Bea to see Alex's VIEWING");

    // A note: coalesced (less than a second after the last heartbeat), stored as the second ends.
    expect((await beat(agent.token, 'COMPOSING_NOTE')).ok().setPresence.stored).toBe(false);
    await until(staff, (e) => e[0]?.state === 'COMPOSING_NOTE', "Bea to see Alex's COMPOSING_NOTE");
    (await beat(customer.token, 'VIEWING')).ok();
    await until(staff, (e) => e.length === 2, 'Bea to see the customer');
    expect(latest(staff)).toEqual([
      { kind: 'AGENT', state: 'COMPOSING_NOTE', name: 'Alex Agent', participantId: agent.id },
      { kind: 'CUSTOMER', state: 'VIEWING', name: 'Jane Doe', participantId: customer.id },
    ]);
    const staffView = (await execute(TicketWithPresence, { as: bea.token, variables: { id: ticket.id } })).ok().ticket!.presence;
    expect(staffView.entries).toEqual(latest(staff));
    const customerView = (await execute(TicketWithPresence, { as: customer.token, variables: { id: ticket.id } })).ok().ticket!.presence;
    expect(customerView.entries).toEqual([]);

    await eventually(async () => (await beat(agent.token, 'TYPING')).ok().setPresence.stored, { what: 'a heartbeat past the coalescing window' });
    await until(theirs, (e) => e.length === 1, 'the customer to see that an agent is typing');
    // Exactly two results: the empty start and "an agent is typing"; nothing of the note or of who viewed.
    expect(theirs.received.map(entriesOf)).toEqual([[], [{ kind: 'AGENT', state: 'TYPING', name: null, participantId: null }]]);
    expect((await execute(TicketWithPresence, { as: customer.token, variables: { id: ticket.id } })).ok().ticket!.presence.entries).toEqual([
      { kind: 'AGENT', state: 'TYPING', name: null, participantId: null },
    ]);
  });

  test("with the team's consent customers see the typing agent's name", async ({ team, agent, customer, ticket, execute }) => {
    const updated = await execute(ShowNames, { as: team.tokens.admin, variables: { input: { id: team.teamId, presenceShowsAgentNames: true } } });
    expect(updated.ok().updateTeam.team.presenceShowsAgentNames).toBe(true);
    const theirs = subscribe(wsClient(base, customer.token), WATCH, { ticketId: ticket.id });
    await theirs.waitFor(1);
    (await execute(SetPresence, { as: agent.token, variables: { input: { ticketId: ticket.id, state: 'TYPING' } } })).ok();
    await until(theirs, (e) => e.length === 1, 'the customer to see the typing agent');
    expect(latest(theirs)).toEqual([{ kind: 'AGENT', state: 'TYPING', name: 'Alex Agent', participantId: null }]);
  });

  test('subscribers that see alike share one execution per change', async ({ agent, customer, ticket, execute }) => {
    const { sql } = testApp();
    const tabs = [1, 2, 3].map(() => subscribe(wsClient(base, customer.token), WATCH, { ticketId: ticket.id }));
    for (const tab of tabs) await tab.waitFor(1);
    sql.length = 0;
    (await execute(SetPresence, { as: agent.token, variables: { input: { ticketId: ticket.id, state: 'TYPING' } } })).ok();
    for (const tab of tabs) await until(tab, (e) => e.length === 1, 'each tab to see the typing agent');
    // The customer's view reads the team's setting: once for the three tabs.
    expect(sql.filter((q) => q.includes('presence_shows_agent_names'))).toHaveLength(1);
  });

  test('heartbeats write nothing to PostgreSQL and record no event; a second one within a second is coalesced', async ({ team, agent, ticket, execute }) => {
    const { sql, db } = testApp();
    const before = await db.team.findUniqueOrThrow({ where: { id: team.team.id }, select: { eventSeq: true } });
    sql.length = 0;
    const first = await execute(SetPresence, { as: agent.token, variables: { input: { ticketId: ticket.id, state: 'VIEWING' } } });
    const second = await execute(SetPresence, { as: agent.token, variables: { input: { ticketId: ticket.id, state: 'VIEWING' } } });
    expect([first.ok().setPresence.stored, second.ok().setPresence.stored]).toEqual([true, false]);
    // The ticket's visibility check (and the credential's lookup): reads only.
    expect(sql.filter((q) => !/^\s*SELECT/i.test(q))).toEqual([]);
    const after = await db.team.findUniqueOrThrow({ where: { id: team.team.id }, select: { eventSeq: true } });
    expect(after.eventSeq).toBe(before.eventSeq);
  });

  test('bad input: a ticket the caller cannot see, anonymous callers, a customer composing a note', async ({ team, otherTeam, customer, ticket, execute }) => {
    const foreign = await execute(SetPresence, { as: otherTeam.tokens.agent, variables: { input: { ticketId: ticket.id, state: 'VIEWING' } } });
    foreign.fails('NOT_FOUND');
    const notHers = await newTicket(team.keys.write, { title: 'Someone else', customer: { email: 'else@example.com' } });
    (await execute(SetPresence, { as: customer.token, variables: { input: { ticketId: notHers.id, state: 'VIEWING' } } })).fails('NOT_FOUND');
    (await execute(SetPresence, { variables: { input: { ticketId: ticket.id, state: 'VIEWING' } } })).fails('UNAUTHENTICATED');
    const note = (await execute(SetPresence, { as: customer.token, variables: { input: { ticketId: ticket.id, state: 'COMPOSING_NOTE' } } })).fails(
      'BAD_USER_INPUT',
    );
    expect(note.extensions!.fields).toEqual([{ path: 'input.state', message: 'customers do not write internal notes' }]);
    const watchForeign = subscribe(wsClient(base, otherTeam.tokens.agent), WATCH, { ticketId: ticket.id });
    await watchForeign.completed;
    expect(watchForeign.received[0]!.errors![0]!.extensions!.code).toBe('NOT_FOUND');
    // Nothing of these reached the ticket's presence.
    const view = (await execute(TicketWithPresence, { as: team.tokens.agent, variables: { id: ticket.id } })).ok().ticket!.presence;
    expect(view.entries).toEqual([]);
  });
});

describe('entries go when their connection does', () => {
  test('a ticketPresence subscription ends when its API key is revoked', async ({ team, agent, ticket, execute }) => {
    const key = (await execute(NewKey, { as: team.keys.admin, variables: { input: { name: 'console', scopes: ['READ'] } } })).ok().createApiKey;
    const watcher = subscribe(wsClient(base, key.secret), WATCH, { ticketId: ticket.id });
    await watcher.waitFor(1);
    (await execute(RevokeKey, { as: team.keys.admin, variables: { input: { id: key.apiKey.id } } })).ok();
    await watcher.completed;
    // Nothing after the revocation reaches it.
    (await execute(SetPresence, { as: agent.token, variables: { input: { ticketId: ticket.id, state: 'VIEWING' } } })).ok();
    expect(watcher.received.map(entriesOf)).toEqual([[]]);
  });

  test('closing the graphql-ws connection that sent heartbeats clears its entry at once', async ({ agent, ticket }) => {
    // A TTL far longer than the test: only the disconnect can clear the entry.
    const { base: own } = await startOtherApp({ presenceTtlMs: 600_000 });
    const watcher = subscribe(wsClient(own, agent.token), WATCH, { ticketId: ticket.id });
    await watcher.waitFor(1);
    const sender = wsClient(own, agent.token);
    const sent = subscribe(sender, SET, { input: { ticketId: ticket.id, state: 'TYPING' } });
    await sent.completed;
    expect(sent.received[0]!.data!.setPresence.stored).toBe(true);
    await until(watcher, (e) => e[0]?.state === 'TYPING', 'the watcher to see TYPING');
    await sender.dispose();
    await until(watcher, (e) => e.length === 0, 'the entry to be cleared by the disconnect');
  });

  test('ending the SSE ticketPresence stream of a caller clears their entry', async ({ agent, customer, ticket }) => {
    const { base: own } = await startOtherApp({ presenceTtlMs: 600_000 });
    const watcher = subscribe(wsClient(own, agent.token), WATCH, { ticketId: ticket.id });
    await watcher.waitFor(1);
    const stream = subscribeSse(own, customer.token, WATCH, { ticketId: ticket.id });
    await stream.waitFor(1);
    expect((await gql(own, customer.token, SET, { input: { ticketId: ticket.id, state: 'VIEWING' } })).data.setPresence.stored).toBe(true);
    await until(watcher, (e) => e[0]?.kind === 'CUSTOMER', 'the agent to see the customer');
    stream.stop();
    await until(watcher, (e) => e.length === 0, 'the entry to be cleared when the stream ended');
  });
});

describe('two processes on one Redis', () => {
  test("agent A's typing reaches agent B on the other process within a second, and lapses after the TTL", async () => {
    const redis = await redisServer();
    const clients = connectRedis(redis.url, createLogger('silent'));
    leftover('redis clients', () => clients.close());
    const TTL = 1500;
    const one = await startOtherApp({ redis: clients.publish, bus: createEventBus({ redis: clients }), presenceTtlMs: TTL });
    const p = run(
      'src/main.ts',
      [],
      cleanEnv({
        DATABASE_URL: inject('databaseUrl'),
        REDIS_URL: redis.url,
        JWT_SECRET,
        PORT: '0',
        MIGRATE_ON_START: 'false',
        WORKERS: '0',
        LOG_LEVEL: 'error',
        PRESENCE_TTL_MS: String(TTL),
      }),
    );
    leftover('a server process', async () => {
      if (p.child.exitCode !== null) return;
      p.child.kill('SIGKILL');
      await p.exited;
    });
    const [, two] = await p.waitFor(/GraphiQL: +(http:\/\/localhost:\d+)\/graphql/, 110_000);

    const t = await createTeam();
    const bea = await secondAgent(t);
    const ticket = await newTicket(t.keys.write, { title: 'Across processes', customer: { email: t.customer.email } });
    const onTwo = subscribe(wsClient(two!, bea.token), WATCH, { ticketId: ticket.id });
    await onTwo.waitFor(1);

    const sent = Date.now();
    const res = await gql(one.base, t.tokens.agent, SET, { input: { ticketId: ticket.id, state: 'TYPING' } });
    expect(res.data.setPresence.stored).toBe(true);
    await until(onTwo, (e) => e[0]?.state === 'TYPING', 'B to see A typing', 5_000);
    // A figure, not an assertion: the suite makes no timing assertions (a loaded machine is slow).
    console.info(`presence across two processes: ${Date.now() - sent} ms from setPresence to the other process's subscriber`);
    expect(latest(onTwo)).toEqual([{ kind: 'AGENT', state: 'TYPING', name: 'Alex Agent', participantId: encodeId('Agent', t.agent.id) }]);
    // The coalescing window is shared: a heartbeat to the other process right after is not stored.
    expect((await gql(two!, t.tokens.agent, SET, { input: { ticketId: ticket.id, state: 'TYPING' } })).data.setPresence.stored).toBe(false);

    // No more heartbeats: B is told the entry lapsed.
    await until(onTwo, (e) => e.length === 0, 'the entry to lapse after the TTL');
    expect((await gql(one.base, t.tokens.agent, `query($id: ID!) { ticket(id: $id) { presence { entries { state } } } }`, { id: ticket.id })).data).toEqual({
      ticket: { presence: { entries: [] } },
    });
  });
});
