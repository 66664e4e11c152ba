// The documentation runs as written: every example of README.md and docs/, in
// reading order, against a fresh database with the demo team `npm start` makes; and
// the live console of docs/examples catches up exactly, in Node and in Chromium.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, test } from 'vitest';
import WebSocket from 'ws';
import { buildApp, type App } from '../src/app.js';
import { createDb, type Db } from '../src/db.js';
import { ensureDemoTeam } from '../src/domain/demo.js';
import { encodeId } from '../src/ids.js';
import { createMailer } from '../src/jobs/mail.js';
import { startWorker, type JobWorker } from '../src/jobs/worker.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/platform/migrate.js';
import { signToken } from '../src/auth/tokens.js';
import { graphql } from './generated/index.js';
import { JWT_SECRET, execute, testApp } from './support/app.js';
import { PAGES, Walkthrough, brokenLinks } from './support/docs.js';
import { createTeam } from './support/fixtures.js';
import { AddMessage, UpdateTicket, newTicket } from './support/operations.js';
import { cleanEnv, root } from './support/process.js';
import { eventually } from './support/receivers.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const EXAMPLES = path.join(root, 'docs/examples');

/** The tests below that run each file of docs/examples. */
const EXERCISED: Record<string, string> = {
  'docs/examples/live-console.mjs': 'live-console.mjs in Node and in Chromium; its reconciler and keepPresence in Node',
  'docs/examples/live-console-node.mjs': 'the walkthrough of docs/live-updates.md runs it',
  'docs/examples/live-console-browser.mjs': 'live-console.mjs in Chromium, and its presence on an open ticket',
  'docs/examples/verify-webhook.mjs': 'verify-webhook.mjs on the deliveries of the walkthrough',
};

type Hit = { headers: http.IncomingHttpHeaders; body: string };

/** A database of its own on the suite's PostgreSQL server, dropped by `drop()`. */
async function freshDatabase(name: string) {
  const admin = new URL(inject('databaseUrl'));
  admin.pathname = '/postgres';
  const url = new URL(inject('databaseUrl'));
  url.pathname = `/${name}`;
  const run = async (sql: string) => {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await run(`CREATE DATABASE "${name}"`);
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

describe('the documentation, run in reading order', () => {
  const suffix = randomUUID().slice(0, 8);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-docs-data-'));
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-docs-sh-'));
  const hits: Hit[] = [];
  const cleanups: Array<() => Promise<unknown> | unknown> = [];
  let dev: Awaited<ReturnType<typeof freshDatabase>>;
  let db: Db;
  let app: App;
  let worker: JobWorker;
  let walk: Walkthrough;
  let devKey: string;

  beforeAll(async () => {
    dev = await freshDatabase(`ticketql_docs_${suffix}`);
    cleanups.push(() => dev.drop());
    const production = await freshDatabase(`ticketql_docs_production_${suffix}`);
    cleanups.push(() => production.drop());
    await migrate(dev.url);

    // What `npm start` does on a fresh machine: the demo team, and a development
    // JWT secret in DATA_DIR, which the CLI examples read too.
    const jwtSecret = randomBytes(32).toString('base64url');
    fs.writeFileSync(path.join(dataDir, 'jwt-secret'), jwtSecret, { mode: 0o600 });
    db = createDb(dev.url, 5);
    cleanups.push(() => db.$disconnect());
    devKey = (await ensureDemoTeam(db, dataDir))!;

    const receiver = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        hits.push({ headers: req.headers, body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => receiver.close(resolve)));

    worker = await startWorker({
      databaseUrl: dev.url,
      db,
      mailer: createMailer({ from: 'ticketql <no-reply@localhost>', dataDir }),
      log: createLogger('silent'),
      concurrency: 2,
      policy: { production: false },
      retrySchedule: [30, 120],
      pollIntervalMs: 200,
    });
    cleanups.push(() => worker.stop());
    app = buildApp({ db, log: createLogger('silent'), jwtSecret });
    const base = await app.start(0);
    cleanups.push(() => app.stop());

    // `sh` examples run "from the repository": npm runs the checkout's scripts, and
    // docs/ is at hand; anything they write stays in a directory of their own.
    fs.symlinkSync(path.join(root, 'docs'), path.join(workDir, 'docs'));
    fs.mkdirSync(path.join(workDir, 'bin'));
    const npm = spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim();
    fs.writeFileSync(path.join(workDir, 'bin', 'npm'), `#!/bin/sh\nexec ${JSON.stringify(npm)} --prefix ${JSON.stringify(root)} "$@"\n`, { mode: 0o755 });

    walk = new Walkthrough({
      base,
      devKey,
      fixed: [
        ['https://hooks.example.com/ticketql', `http://localhost:${(receiver.address() as AddressInfo).port}/ticketql`],
        ['postgresql://ticketql:secret@db.example:5432/ticketql', production.url],
        ['redis://cache.example:6379', inject('redisUrl')],
      ],
      cwd: workDir,
      env: cleanEnv({ DATABASE_URL: dev.url, DATA_DIR: dataDir, PORT: '0', PATH: `${path.join(workDir, 'bin')}:${process.env.PATH}` }),
    });
    cleanups.push(() => walk.stop());
  }, 180_000);

  afterAll(async () => {
    for (const step of cleanups.reverse()) await step();
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(workDir, { recursive: true, force: true });
  }, 60_000);

  test('the demo team starts with five sample tickets, and their emails are not sent', async () => {
    const tickets = await db.ticket.findMany({ orderBy: { number: 'asc' }, include: { customer: true, messages: true } });
    expect(tickets.map((t) => [t.number, t.status, t.priority])).toEqual([
      [1, 'OPEN', 'HIGH'],
      [2, 'PENDING', 'NORMAL'],
      [3, 'IN_PROGRESS', 'URGENT'],
      [4, 'RESOLVED', 'LOW'],
      [5, 'NEW', 'NORMAL'],
    ]);
    expect(tickets.every((t) => t.customer !== null)).toBe(true);
    expect(tickets.flatMap((t) => t.messages.filter((m) => m.isInternal)).length).toBeGreaterThanOrEqual(1);
    // Events and SLA as the API writes them: the log counts every change, deadlines are set.
    expect(await db.ticketEvent.count()).toBe(23);
    expect(tickets.every((t) => t.responseDeadline && t.resolutionDeadline)).toBe(true);
    const [jobs] = await db.$queryRaw<Array<{ count: number }>>`SELECT count(*)::int AS count FROM graphile_worker.jobs WHERE task_identifier = 'email:send'`;
    expect(jobs!.count).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'mail'))).toBe(false);
  });

  for (const page of PAGES) {
    test(`${page}: every example runs as written`, () => walk.page(page), 300_000);
  }

  test('every page of docs/ is in the reading order, every example file is quoted and run, every link leads somewhere', () => {
    const pages = fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`);
    expect(pages.sort()).toEqual(PAGES.filter((p) => p.startsWith('docs/')).sort());
    const files = fs.readdirSync(EXAMPLES).map((f) => `docs/examples/${f}`).sort();
    expect([...walk.quoted].sort()).toEqual(files);
    expect(Object.keys(EXERCISED).sort()).toEqual(files);
    expect(brokenLinks(PAGES)).toEqual([]);
  });

  test('verify-webhook.mjs accepts the deliveries of the walkthrough and refuses altered or stale ones', async () => {
    const { verify } = (await import(pathToFileURL(path.join(EXAMPLES, 'verify-webhook.mjs')).href)) as {
      verify: (secret: string, headers: Record<string, unknown>, rawBody: string) => boolean;
    };
    const secret = walk.value('whsec');
    // The delivery of side-effects.md's update, and its redelivery.
    await eventually(() => hits.length >= 2);
    for (const hit of hits) {
      expect(verify(secret, hit.headers, hit.body)).toBe(true);
      expect(verify(secret, hit.headers, `${hit.body} `)).toBe(false);
      expect(verify(`whsec_${randomBytes(24).toString('base64')}`, hit.headers, hit.body)).toBe(false);
      const stale = { ...hit.headers, 'webhook-timestamp': String(Number(hit.headers['webhook-timestamp']) - 600) };
      expect(verify(secret, stale, hit.body)).toBe(false);
    }
  });
});

const UpdateForConsole = graphql(`
  mutation ConsoleUpdate($input: UpdateTicketInput!) { updateTicket(input: $input) { cursor } }
`);

type LiveEvent = { cursor: string; type: string; ticketId: string };
type Follow = (options: Record<string, unknown>) => () => void;

const liveConsole = async () =>
  ((await import(pathToFileURL(path.join(EXAMPLES, 'live-console.mjs')).href)) as { followTicketEvents: Follow }).followTicketEvents;

/** The team's event log from `fromCursor` on, as subscribers see it. */
async function logFrom(teamId: string, fromCursor: string) {
  const rows = await testApp().db.ticketEvent.findMany({ where: { teamId, seq: { gte: BigInt(fromCursor) } }, orderBy: { seq: 'asc' } });
  return rows.map((e) => ({ cursor: e.seq.toString(), type: e.type, ticketId: encodeId('Ticket', e.ticketId) }));
}

/** Some changes, one after another: events of several types. */
async function changes(key: string, label: string, count: number) {
  for (let i = 0; i < count; i++) {
    const ticket = await newTicket(key, { title: `${label} ${i}` });
    if (i % 2 === 1) {
      (await execute(AddMessage, { as: key, variables: { input: { ticketId: ticket.id, body: 'note', isInternal: true } } })).ok();
      (await execute(UpdateTicket, { as: key, variables: { input: { id: ticket.id, status: 'RESOLVED' } } })).ok();
    }
  }
}

const dropSockets = (closing: (socket: WebSocket) => void) => {
  const sockets = [...testApp().app.sockets.clients];
  expect(sockets.length).toBeGreaterThan(0);
  for (const socket of sockets) closing(socket);
};

describe('live-console.mjs: each event once, in order, across reconnects', () => {
  let base: string;

  beforeAll(async () => {
    base = await testApp().app.start(0);
  });

  afterAll(async () => {
    await testApp().app.stop();
  });

  test('in Node, with graphql-ws reconnecting while tickets change, the socket dropped three times', async () => {
    const followTicketEvents = await liveConsole();
    const t = await createTeam();
    const received: LiveEvent[] = [];
    const errors: unknown[] = [];
    // What the example sends on each (re)subscription, and the last event it had then.
    const resubscribed: Array<{ after: unknown; lastReceived: string | undefined }> = [];
    class RecordingWebSocket extends WebSocket {
      override send(data: any, ...rest: any[]) {
        const message = JSON.parse(String(data)) as { type: string; payload?: { variables?: { after?: unknown } } };
        if (message.type === 'subscribe') resubscribed.push({ after: message.payload?.variables?.after, lastReceived: received.at(-1)?.cursor });
        return (super.send as (...args: any[]) => void)(data, ...rest);
      }
    }
    // Reconnects wait while `hold` is set: the changes made meanwhile must be caught up.
    let hold: Promise<void> | undefined;
    let release = () => {};
    const stop = followTicketEvents({
      url: `${base.replace(/^http/, 'ws')}/graphql`,
      credential: t.keys.admin,
      webSocketImpl: RecordingWebSocket,
      retryWait: () => hold ?? Promise.resolve(),
      onEvent: ({ cursor, type, ticketId }: LiveEvent) => received.push({ cursor, type, ticketId }),
      onError: (error: unknown) => errors.push(error),
    });
    try {
      // Without `after` it follows from the moment it is subscribed: the first event it
      // gets is where the comparison with the log starts.
      await eventually(async () => {
        await newTicket(t.keys.admin, { title: 'Warm-up' });
        return received.length > 0;
      });
      const start = received[0]!.cursor;

      // 1. Dropped, and kept away while changes happen: all of them come by catch-up.
      hold = new Promise((resolve) => (release = resolve));
      dropSockets((s) => s.terminate());
      await changes(t.keys.admin, 'While away', 4);
      hold = undefined;
      release();
      await eventually(async () => received.length === (await logFrom(t.team.id, start)).length);

      // 2 and 3. Dropped in the middle of a run of changes, reconnecting at once.
      for (const round of [2, 3]) {
        const before = received.length;
        const running = changes(t.keys.admin, `Round ${round}`, 6);
        await eventually(() => received.length >= before + 3);
        dropSockets((s) => s.terminate());
        await running;
        await eventually(async () => received.length === (await logFrom(t.team.id, start)).length);
      }

      expect(received).toEqual(await logFrom(t.team.id, start));
      expect(errors).toEqual([]);
      // Each resubscription asked for the events after the last one received.
      expect(resubscribed.length).toBeGreaterThanOrEqual(4);
      expect(resubscribed[0]!.after).toBeUndefined();
      for (const r of resubscribed.slice(1)) expect(r.after).toBe(r.lastReceived);
    } finally {
      stop();
    }
  }, 120_000);

  test('in Node, dropped as a slow consumer (1008), which graphql-ws does not retry, it starts over from the last event', async () => {
    const followTicketEvents = await liveConsole();
    const t = await createTeam();
    const received: LiveEvent[] = [];
    const errors: unknown[] = [];
    const stop = followTicketEvents({
      url: `${base.replace(/^http/, 'ws')}/graphql`,
      credential: t.tokens.agent,
      after: '0',
      webSocketImpl: WebSocket,
      onEvent: ({ cursor, type, ticketId }: LiveEvent) => received.push({ cursor, type, ticketId }),
      onError: (error: unknown) => errors.push(error),
    });
    try {
      await changes(t.keys.admin, 'Before', 3);
      await eventually(async () => received.length === (await logFrom(t.team.id, '1')).length);
      dropSockets((s) => s.close(1008, 'Slow consumer: too many events waiting'));
      await changes(t.keys.admin, 'After', 3);
      await eventually(async () => received.length === (await logFrom(t.team.id, '1')).length);
      expect(received).toEqual(await logFrom(t.team.id, '1'));
      expect(errors).toEqual([]);
    } finally {
      stop();
    }
  }, 60_000);

  test('in Node, reconciler() settles a write once the feed has it; keepPresence() shows who else is on the ticket until they leave', async () => {
    type Presence = { set(state: string): void; stop(): void };
    type PresenceEntry = { kind: string; state: string; name: string | null };
    const console_ = (await import(pathToFileURL(path.join(EXAMPLES, 'live-console.mjs')).href)) as {
      followTicketEvents: Follow;
      reconciler(): { seen(cursor: string): void; settled(cursor: string | null): Promise<void> };
      keepPresence(options: Record<string, unknown>): Presence;
    };
    const t = await createTeam();
    const ticket = await newTicket(t.keys.admin, { title: 'Console' });
    const url = `${base.replace(/^http/, 'ws')}/graphql`;
    const errors: unknown[] = [];
    const received: string[] = [];
    const writes = console_.reconciler();
    const stop = console_.followTicketEvents({
      url,
      credential: t.tokens.agent,
      after: '0',
      webSocketImpl: WebSocket,
      onEvent: ({ cursor }: LiveEvent) => {
        received.push(cursor);
        writes.seen(cursor);
      },
      onError: (error: unknown) => errors.push(error),
    });
    const { db } = testApp();
    const bea = await db.agent.create({ data: { teamId: t.team.id, name: 'Bea Agent', email: `bea@${t.team.slug}.test`, role: 'AGENT' } });
    const beaToken = await signToken(JWT_SECRET, { sub: encodeId('Agent', bea.id), team: t.teamId, role: 'agent', email: bea.email }, '1h');
    const seenByBea: PresenceEntry[][] = [];
    let alex: Presence | undefined;
    let beas: Presence | undefined;
    try {
      const { cursor } = (await execute(UpdateForConsole, { as: t.tokens.agent, variables: { input: { id: ticket.id, priority: 'HIGH' } } })).ok().updateTicket;
      await writes.settled(cursor!);
      expect(received).toContain(cursor);
      await writes.settled(null);

      const options = { url, ticketId: ticket.id, webSocketImpl: WebSocket, onError: (error: unknown) => errors.push(error) };
      beas = console_.keepPresence({ ...options, credential: beaToken, onPresence: (entries: PresenceEntry[]) => seenByBea.push(entries) });
      alex = console_.keepPresence({ ...options, credential: t.tokens.agent, onPresence: () => {} });
      const alexIs = (state: string) => seenByBea.at(-1)?.some((e) => e.name === 'Alex Agent' && e.state === state);
      await eventually(() => alexIs('VIEWING'), { what: () => `Bea to see Alex viewing; she saw ${JSON.stringify(seenByBea)}` });
      alex.set('TYPING');
      await eventually(() => alexIs('TYPING'), { what: () => `Bea to see Alex typing; she saw ${JSON.stringify(seenByBea)}` });
      alex.stop();
      await eventually(() => seenByBea.at(-1)?.every((e) => e.name !== 'Alex Agent'), { what: 'Alex to be gone once his console stopped' });
      expect(errors).toEqual([]);
    } finally {
      alex?.stop();
      beas?.stop();
      stop();
    }
  }, 60_000);

  describe('in Chromium', () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
      });
    });

    afterAll(async () => {
      await browser?.close();
    });

    test('live-console-browser.mjs shows each event once across a dropped socket and a reload', async () => {
      const t = await createTeam();
      const sources: Record<string, string> = {
        '/': '<!doctype html><ul id="events"></ul><script type="importmap">{"imports":{"graphql-ws":"/graphql-ws/client.js"}}</script><script type="module" src="/live-console-browser.mjs"></script>',
        '/live-console.mjs': fs.readFileSync(path.join(EXAMPLES, 'live-console.mjs'), 'utf8'),
        '/live-console-browser.mjs': fs
          .readFileSync(path.join(EXAMPLES, 'live-console-browser.mjs'), 'utf8')
          .replace('ws://localhost:4000/graphql', `${base.replace(/^http/, 'ws')}/graphql`)
          .replace("'eyJ…'", JSON.stringify(t.tokens.agent)),
      };
      // The page and its modules from a server of the test's own (Chromium lets a page
      // from a local address open a WebSocket to localhost); graphql-ws from
      // node_modules, as a bundler would serve it.
      const graphqlWs = path.join(root, 'node_modules/graphql-ws/dist');
      const site = http.createServer((req, res) => {
        const pathname = new URL(req.url ?? '/', 'http://site').pathname;
        const file = pathname.startsWith('/graphql-ws/') ? path.join(graphqlWs, path.basename(pathname)) : undefined;
        const body = file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : sources[pathname];
        if (body === undefined) return void res.writeHead(pathname === '/favicon.ico' ? 204 : 404).end();
        res.writeHead(200, { 'content-type': pathname === '/' ? 'text/html' : 'text/javascript' }).end(body);
      });
      await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
      const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      page.on('console', (message) => {
        if (message.type() === 'error') pageErrors.push(message.text());
      });
      const shown = () => page.locator('#events li').evaluateAll((items) => items.map((li) => (li as HTMLElement).dataset.cursor!));

      try {
        await page.goto(`${origin}/`);
        await eventually(async () => {
          await newTicket(t.keys.admin, { title: 'Warm-up' });
          return (await shown()).length > 0;
        }).catch((err: Error) => {
          throw new Error(`${err.message}; page errors: ${JSON.stringify(pageErrors)}`);
        });
        const start = (await shown())[0]!;
        const cursors = async () => (await logFrom(t.team.id, start)).map((e) => e.cursor);

        await changes(t.keys.admin, 'Before', 2);
        await eventually(async () => (await shown()).length === (await cursors()).length);
        dropSockets((s) => s.terminate());
        await changes(t.keys.admin, 'While away', 3);
        await eventually(async () => (await shown()).length === (await cursors()).length);
        const beforeReload = await shown();
        expect(beforeReload).toEqual(await cursors());

        // A reload starts from the cursor kept in localStorage: only what came after.
        await page.reload();
        await changes(t.keys.admin, 'After reload', 2);
        await eventually(async () => beforeReload.length + (await shown()).length === (await cursors()).length);
        expect([...beforeReload, ...(await shown())]).toEqual(await cursors());
        expect(pageErrors).toEqual([]);
      } finally {
        await page.close();
        await new Promise((resolve) => site.close(resolve));
      }
    }, 120_000);

    test('live-console-browser.mjs on an open ticket shows who else is on it, and tells them its agent is typing', async () => {
      const t = await createTeam();
      const ticket = await newTicket(t.keys.admin, { title: 'Open in the browser' });
      const { db } = testApp();
      const bea = await db.agent.create({ data: { teamId: t.team.id, name: 'Bea Agent', email: `bea@${t.team.slug}.test`, role: 'AGENT' } });
      const beaToken = await signToken(JWT_SECRET, { sub: encodeId('Agent', bea.id), team: t.teamId, role: 'agent', email: bea.email }, '1h');
      const sources: Record<string, string> = {
        '/': `<!doctype html><ul id="events"></ul><article id="ticket" data-ticket-id="${ticket.id}"><textarea id="reply"></textarea><p id="presence"></p></article><script type="importmap">{"imports":{"graphql-ws":"/graphql-ws/client.js"}}</script><script type="module" src="/live-console-browser.mjs"></script>`,
        '/live-console.mjs': fs.readFileSync(path.join(EXAMPLES, 'live-console.mjs'), 'utf8'),
        '/live-console-browser.mjs': fs
          .readFileSync(path.join(EXAMPLES, 'live-console-browser.mjs'), 'utf8')
          .replace('ws://localhost:4000/graphql', `${base.replace(/^http/, 'ws')}/graphql`)
          .replace("'eyJ…'", JSON.stringify(t.tokens.agent)),
      };
      const graphqlWs = path.join(root, 'node_modules/graphql-ws/dist');
      const site = http.createServer((req, res) => {
        const pathname = new URL(req.url ?? '/', 'http://site').pathname;
        const file = pathname.startsWith('/graphql-ws/') ? path.join(graphqlWs, path.basename(pathname)) : undefined;
        const body = file && fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : sources[pathname];
        if (body === undefined) return void res.writeHead(pathname === '/favicon.ico' ? 204 : 404).end();
        res.writeHead(200, { 'content-type': pathname === '/' ? 'text/html' : 'text/javascript' }).end(body);
      });
      await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
      const origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (err) => pageErrors.push(err.message));
      const { keepPresence } = (await import(pathToFileURL(path.join(EXAMPLES, 'live-console.mjs')).href)) as {
        keepPresence(options: Record<string, unknown>): { set(state: string): void; stop(): void };
      };
      const seenByBea: Array<Array<{ name: string | null; state: string }>> = [];
      const beas = keepPresence({
        url: `${base.replace(/^http/, 'ws')}/graphql`,
        credential: beaToken,
        ticketId: ticket.id,
        webSocketImpl: WebSocket,
        onPresence: (entries: Array<{ name: string | null; state: string }>) => seenByBea.push(entries),
        onError: (error: unknown) => pageErrors.push(String(error)),
      });
      const alexIs = (state: string) => seenByBea.at(-1)?.some((e) => e.name === 'Alex Agent' && e.state === state);
      try {
        await page.goto(`${origin}/`);
        await eventually(async () => (await page.locator('#presence').textContent())?.includes('Bea Agent viewing'), {
          what: () => `the page to show Bea; page errors: ${JSON.stringify(pageErrors)}`,
        });
        await eventually(() => alexIs('VIEWING'), { what: () => `Bea to see Alex viewing; she saw ${JSON.stringify(seenByBea)}` });
        await page.locator('#reply').pressSequentially('Hello');
        await eventually(() => alexIs('TYPING'), { what: () => `Bea to see Alex typing; she saw ${JSON.stringify(seenByBea)}` });
        // Closing the page closes its socket: Alex is gone at once.
        await page.close();
        await eventually(() => seenByBea.at(-1)?.every((e) => e.name !== 'Alex Agent'), { what: 'Alex to be gone with his page' });
        expect(pageErrors).toEqual([]);
      } finally {
        beas.stop();
        if (!page.isClosed()) await page.close();
        await new Promise((resolve) => site.close(resolve));
      }
    }, 120_000);
  });
});
