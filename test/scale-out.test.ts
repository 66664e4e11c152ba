// Two real server processes on one PostgreSQL and one Redis: a change made
// through one reaches subscribers of the other, also across a Redis restart.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { JWT_SECRET } from './support/app.js';
import { createTeam, type TeamFixture } from './support/fixtures.js';
import { disposeLive, subscribe, subscribeSse, wsClient } from './support/live.js';
import { cleanEnv, run, type Running } from './support/process.js';

const EVENTS = 'subscription($after: String) { ticketEvents(after: $after) { cursor type ticketId } }';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

let redisPort = 0;
let redis: ChildProcess | undefined;
async function startRedis() {
  redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const c = net.connect(redisPort, '127.0.0.1', () => {
        c.end();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}
async function stopRedis() {
  const exited = new Promise((r) => redis!.once('exit', r));
  redis!.kill('SIGKILL');
  await exited;
}

const servers: Running[] = [];
async function startServer(): Promise<{ base: string; p: Running }> {
  const p = run(
    'src/main.ts',
    [],
    cleanEnv({
      DATABASE_URL: inject('databaseUrl'),
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      JWT_SECRET,
      PORT: '0',
      MIGRATE_ON_START: 'false',
      // No job workers: on the suite's shared database they would take other files'
      // email and webhook jobs (side-effects.test.ts waits for its own on its SMTP server).
      WORKERS: '0',
      LOG_LEVEL: 'error',
    }),
  );
  servers.push(p);
  const [, base] = await p.waitFor(/GraphiQL: +(http:\/\/localhost:\d+)\/graphql/);
  return { base: base!, p };
}

async function gql(base: string, key: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: unknown[] } };
}

const createTicket = (base: string, t: TeamFixture, title: string) =>
  gql(base, t.keys.write, 'mutation($title: String!) { createTicket(input: { title: $title }) { ticket { id } } }', { title });

let A: { base: string; p: Running };
let B: { base: string; p: Running };

beforeAll(async () => {
  redisPort = await freePort();
  await startRedis();
  [A, B] = await Promise.all([startServer(), startServer()]);
}, 60_000);

afterAll(async () => {
  disposeLive();
  for (const s of servers) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  if (redis && redis.exitCode === null) redis.kill('SIGKILL');
});

describe('two processes, one Redis', () => {
  test('a mutation on A reaches graphql-ws and SSE subscribers on B; a Redis restart loses nothing', async () => {
    const t = await createTeam();
    const ws = subscribe(wsClient(B.base, t.tokens.agent), EVENTS);
    const sse = subscribeSse(B.base, t.keys.read, EVENTS);
    await new Promise((r) => setTimeout(r, 1000)); // both subscriptions are live (no `after`: Redis must carry the event)

    const first = await createTicket(A.base, t, 'from A');
    expect(first.body.errors).toBeUndefined();
    await ws.waitFor(1);
    await sse.waitFor(1);
    expect(ws.received[0]!.data!.ticketEvents).toEqual({ cursor: '1', type: 'CREATED', ticketId: first.body.data.createTicket.ticket.id });
    expect(sse.received[0]!.data!.ticketEvents).toEqual(ws.received[0]!.data!.ticketEvents);

    // Redis goes away: queries and mutations go on; readiness says so.
    await stopRedis();
    const during = await createTicket(A.base, t, 'while Redis is down');
    expect(during.status).toBe(200);
    expect(during.body.errors).toBeUndefined();
    const ready = await fetch(`${A.base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({ database: 'ok', redis: 'down' });

    // Redis is back: subscriptions resume, and the event made meanwhile is filled in from the log.
    await startRedis();
    for (let i = 0; i < 100 && (await fetch(`${A.base}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 100 && (await fetch(`${B.base}/readyz`)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 500)); // B re-subscribes to its channels
    await createTicket(A.base, t, 'after Redis is back');
    await ws.waitFor(3, 15_000);
    expect(ws.received.map((r) => r.data!.ticketEvents.cursor)).toEqual(['1', '2', '3']);

    // A console that lost its connection catches up with `after`: exactly what it missed.
    const late = subscribe(wsClient(A.base, t.keys.read), EVENTS, { after: '1' });
    await late.waitFor(2);
    await new Promise((r) => setTimeout(r, 200));
    expect(late.received.map((r) => r.data!.ticketEvents.cursor)).toEqual(['2', '3']);
  }, 60_000);

  test('events of many concurrent mutations on both processes arrive once each, in order', async () => {
    const t = await createTeam();
    // after: "0" – from the start of the log, however long the subscriptions take to set up.
    const onA = subscribe(wsClient(A.base, t.keys.read), EVENTS, { after: '0' });
    const onB = subscribe(wsClient(B.base, t.keys.read), EVENTS, { after: '0' });
    await Promise.all(Array.from({ length: 20 }, (_, i) => createTicket(i % 2 ? A.base : B.base, t, `c${i}`)));
    await onA.waitFor(20, 20_000);
    await onB.waitFor(20, 20_000);
    await new Promise((r) => setTimeout(r, 300));
    const expected = Array.from({ length: 20 }, (_, i) => String(i + 1));
    expect(onA.received.map((r) => r.data!.ticketEvents.cursor)).toEqual(expected);
    expect(onB.received.map((r) => r.data!.ticketEvents.cursor)).toEqual(expected);
  }, 60_000);

  test('shutdown closes WebSockets with 1001 and exits cleanly', async () => {
    const t = await createTeam();
    const C = await startServer();
    const client = wsClient(C.base, t.keys.read);
    subscribe(client, EVENTS);
    await new Promise((r) => setTimeout(r, 300));
    C.p.child.kill('SIGTERM');
    const closed = await client.closed;
    expect(closed.code).toBe(1001);
    expect(await C.p.exited).toBe(0);
  }, 60_000);
});
