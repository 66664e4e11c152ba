// Two real server processes on one PostgreSQL and one Redis: a change made
// through one reaches subscribers of the other, also across a Redis restart.
import { beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { JWT_SECRET } from './support/app.js';
import { createTeam, type TeamFixture } from './support/fixtures.js';
import { leftover } from './support/leftovers.js';
import { listeningOn, subscribe, subscribeSse, wsClient } from './support/live.js';
import { cleanEnv, run, type Running } from './support/process.js';
import { redisServer, subscribersOf } from './support/redis.js';
import { eventually } from './support/wait.js';

const EVENTS = 'subscription($after: String) { ticketEvents(after: $after) { cursor type ticketId } }';

let redis: Awaited<ReturnType<typeof redisServer>>;

async function startServer(): Promise<{ base: string; p: Running }> {
  const p = run(
    'src/main.ts',
    [],
    cleanEnv({
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: redis.url,
      JWT_SECRET,
      PORT: '0',
      MIGRATE_ON_START: 'false',
      // No job workers: on the suite's shared database they would take other files'
      // email and webhook jobs (side-effects.test.ts waits for its own on its SMTP server).
      WORKERS: '0',
      LOG_LEVEL: 'error',
    }),
  );
  leftover('a server process', async () => {
    if (p.child.exitCode !== null) return;
    p.child.kill('SIGKILL');
    await p.exited;
  });
  // Two servers starting at once on a busy machine: more than process.ts's default minute.
  const [, base] = await p.waitFor(/GraphiQL: +(http:\/\/localhost:\d+)\/graphql/, 110_000);
  return { base: base!, p };
}

/** Waits until `base` answers /readyz with 200: its database and Redis connections work. */
const untilReady = (base: string) => eventually(async () => (await fetch(`${base}/readyz`)).status === 200, { what: `${base}/readyz to answer 200` });

/** Waits until `count` processes have subscribed to the team's live events in Redis. */
const subscribedInRedis = (t: TeamFixture, count: number) =>
  eventually(async () => (await subscribersOf(redis.url, `ticketql:team:${t.team.id}`)) >= count, {
    what: `${count} processes subscribed to team ${t.team.id} in Redis`,
  });

async function gql(base: string, key: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: unknown[] } };
}

/**
 * createTicket, sent again while the server answers SERVICE_UNAVAILABLE ("try again
 * shortly": on a busy machine a mutation may wait longer for a connection than the server
 * allows), as a client would; any other answer is returned.
 */
const createTicket = (base: string, t: TeamFixture, title: string) => {
  let last: Awaited<ReturnType<typeof gql>> | undefined;
  return eventually(
    async () => {
      last = await gql(base, t.keys.write, 'mutation($title: String!) { createTicket(input: { title: $title }) { ticket { id } } }', { title });
      const busy = (last.body.errors as Array<{ extensions?: { code?: string } }> | undefined)?.some((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE');
      return !busy && last;
    },
    { what: () => `createTicket "${title}" on ${base} to be taken, last answer: ${JSON.stringify(last?.body)}` },
  );
};

let A: { base: string; p: Running };
let B: { base: string; p: Running };

beforeAll(async () => {
  redis = await redisServer();
  [A, B] = await Promise.all([startServer(), startServer()]);
});

describe('two processes, one Redis', () => {
  test('a mutation on A reaches graphql-ws and SSE subscribers on B; a Redis restart loses nothing', async () => {
    const t = await createTeam();
    const ws = subscribe(wsClient(B.base, t.tokens.agent), EVENTS);
    const sse = subscribeSse(B.base, t.keys.read, EVENTS);
    // Both subscriptions listen, and B's subscription in Redis is in place (no `after`: Redis must carry the event).
    await listeningOn(B.base, 2);
    await subscribedInRedis(t, 1);

    const first = await createTicket(A.base, t, 'from A');
    expect(first.body.errors).toBeUndefined();
    await ws.waitFor(1);
    await sse.waitFor(1);
    expect(ws.received[0]!.data!.ticketEvents).toEqual({ cursor: '1', type: 'CREATED', ticketId: first.body.data.createTicket.ticket.id });
    expect(sse.received[0]!.data!.ticketEvents).toEqual(ws.received[0]!.data!.ticketEvents);

    // Redis goes away: queries and mutations go on; readiness says so.
    await redis.kill();
    const during = await createTicket(A.base, t, 'while Redis is down');
    expect(during.status).toBe(200);
    expect(during.body.errors).toBeUndefined();
    const ready = await fetch(`${A.base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ database: 'ok', redis: 'down' });

    // Redis is back: subscriptions resume, and the event made meanwhile is read from the
    // log as soon as B listens again, without waiting for a later event to show the gap.
    await redis.start();
    await untilReady(A.base); // A publishes again
    await untilReady(B.base);
    await subscribedInRedis(t, 1); // B has subscribed to its channels again
    await ws.waitFor(2);
    await sse.waitFor(2);
    expect(ws.received.map((r) => r.data!.ticketEvents.cursor)).toEqual(['1', '2']);
    expect(sse.received.map((r) => r.data!.ticketEvents.cursor)).toEqual(['1', '2']);
    await createTicket(A.base, t, 'after Redis is back');
    await ws.waitFor(3);
    expect(ws.received.map((r) => r.data!.ticketEvents.cursor)).toEqual(['1', '2', '3']);

    // A console that lost its connection catches up with `after`: exactly what it missed.
    const late = subscribe(wsClient(A.base, t.keys.read), EVENTS, { after: '1' });
    await late.waitFor(2);
    // Then a later event: once it is here, nothing before it is still on its way.
    await subscribedInRedis(t, 2);
    const last = await createTicket(A.base, t, 'last');
    const caughtUp = await late.before((r) => r.data!.ticketEvents.ticketId === last.body.data.createTicket.ticket.id);
    expect(caughtUp.map((r) => r.data!.ticketEvents.cursor)).toEqual(['2', '3']);
  });

  test('events of many concurrent mutations on both processes arrive once each, in order', async () => {
    const t = await createTeam();
    // after: "0" – from the start of the log, whenever each stream reads it.
    const onA = subscribe(wsClient(A.base, t.keys.read), EVENTS, { after: '0' });
    const onB = subscribe(wsClient(B.base, t.keys.read), EVENTS, { after: '0' });
    // A stream reads the log without waiting for Redis to confirm its SUBSCRIBE: an event
    // published in between would reach it only with a later one. Both are in place first.
    await subscribedInRedis(t, 2);
    const created = await Promise.all(Array.from({ length: 20 }, (_, i) => createTicket(i % 2 ? A.base : B.base, t, `c${i}`)));
    expect(created.map((c) => c.body.errors)).toEqual(Array.from({ length: 20 }, () => undefined));
    await onA.waitFor(20);
    await onB.waitFor(20);
    // Then one more event: once it is here, nothing before it is still on its way.
    await subscribedInRedis(t, 2);
    const last = (await createTicket(A.base, t, 'last')).body.data.createTicket.ticket.id;
    const isLast = (r: { data?: Record<string, any> | null }) => r.data!.ticketEvents.ticketId === last;
    const expected = Array.from({ length: 20 }, (_, i) => String(i + 1));
    expect((await onA.before(isLast)).map((r) => r.data!.ticketEvents.cursor)).toEqual(expected);
    expect((await onB.before(isLast)).map((r) => r.data!.ticketEvents.cursor)).toEqual(expected);
  });

  test('shutdown closes WebSockets with 1001 and exits cleanly', async () => {
    const t = await createTeam();
    const C = await startServer();
    const client = wsClient(C.base, t.keys.read);
    subscribe(client, EVENTS);
    await listeningOn(C.base, 1);
    C.p.child.kill('SIGTERM');
    const closed = await client.closed;
    expect(closed.code).toBe(1001);
    expect(await C.p.exited).toBe(0);
  });
});
