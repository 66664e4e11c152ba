// Stopping `npm start` however it is asked to — Ctrl-C in a terminal, SIGTERM to npm
// (a container's `CMD npm start`), SIGTERM or SIGINT to node, SIGTERM to node running
// as PID 1 — is graceful: a request in flight gets its answer, subscriptions close
// with 1001, and the embedded PostgreSQL stops last, before the process exits 0.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  build,
  childrenOf,
  cleanEnv,
  isAlive,
  postgresGone,
  postmastersOf,
  runBuilt,
  runCommand,
  runNpm,
  type Running,
} from './support/process.js';
import { disposeLive, listeningOn, subscribe, wsClient } from './support/live.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-signals-'));
// PostgreSQL runs as its own user when started by root: it must reach the directory.
fs.chmodSync(dataDir, 0o755);
// Generous, so that a busy machine never cuts the request in flight: the test
// finishes it as soon as the shutdown has begun.
const env = () => cleanEnv({ DATA_DIR: dataDir, PORT: '0', SHUTDOWN_TIMEOUT_MS: '60000' });
const started: Running[] = [];
let devKey = '';

beforeAll(async () => {
  await build();
  // The first start (initdb, migrations, demo team) once; every case starts on this data.
  const first = runBuilt('build/src/main.js', [], env());
  started.push(first);
  devKey = (await first.waitFor(/Dev key: +(sk_test_\w+)/, 240_000))[1]!;
  first.child.kill('SIGTERM');
  expect(await first.exited).toBe(0);
}, 300_000);

afterAll(async () => {
  disposeLive();
  for (const p of started) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    for (const pid of childrenOf(p.child.pid!)) process.kill(pid, 'SIGKILL');
    p.child.kill('SIGKILL');
  }
  // Whatever PostgreSQL is left stops once its owner is gone (its watchdog sees to it).
  await postgresGone(dataDir).catch(() => {
    for (const pid of postmastersOf(dataDir)) process.kill(pid, 'SIGKILL');
  });
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

async function graphql(base: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${devKey}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: unknown[] };
}

const CREATE = 'mutation ($title: String!) { createTicket(input: { title: $title, customer: { email: "signals@example.test" } }) { ticket { title } } }';

/**
 * A POST whose headers the server has taken (it answered 100 Continue) and whose
 * body is not sent yet: a request in flight for as long as the test wants.
 */
async function requestInFlight(base: string, body: string) {
  const req = http.request(`${base}/graphql`, {
    method: 'POST',
    agent: false,
    headers: {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      authorization: `Bearer ${devKey}`,
      expect: '100-continue',
    },
  });
  const response = new Promise<{ status: number; json: any }>((resolve, reject) => {
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, json: JSON.parse(text) }));
    });
  });
  await new Promise<void>((resolve, reject) => {
    req.once('continue', resolve);
    req.once('error', reject);
    req.flushHeaders();
  });
  return {
    finish: () => {
      req.end(body);
      return response;
    },
  };
}

type How = 'npm start' | 'node as PID 1';
type Target = 'the process group' | 'npm' | 'node';

function launch(how: How): Running {
  const p =
    how === 'npm start'
      ? runNpm('start', env())
      : // What a container runtime does with CMD ["node", "build/src/main.js"]: node is PID 1 of its own PID namespace.
        runCommand('unshare', ['--pid', '--fork', '--mount-proc', process.execPath, '--enable-source-maps', 'build/src/main.js'], env());
  started.push(p);
  return p;
}

/** A case that failed half-way must not leave its server to the next one. */
afterEach(async () => {
  for (const p of started) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
    for (const pid of childrenOf(p.child.pid!)) process.kill(pid, 'SIGKILL');
    p.child.kill('SIGKILL');
    await p.exited;
  }
  await postgresGone(dataDir);
}, 60_000);

describe('stopping npm start', () => {
  const cases: Array<[string, How, Target, NodeJS.Signals]> = [
    ['Ctrl-C in a terminal: SIGINT to the process group of npm start (node hears it from npm too)', 'npm start', 'the process group', 'SIGINT'],
    ['SIGTERM to npm, as a container running CMD npm start gets it', 'npm start', 'npm', 'SIGTERM'],
    ['SIGTERM to the node process', 'npm start', 'node', 'SIGTERM'],
    ['SIGINT to the node process', 'npm start', 'node', 'SIGINT'],
    ['SIGTERM to node running as PID 1, as in a container running node directly', 'node as PID 1', 'node', 'SIGTERM'],
  ];

  test.each(cases)('%s: the request in flight is answered, subscriptions close with 1001, PostgreSQL stops before the process exits 0', async (_name, how, target, signal) => {
    const p = launch(how);
    const base = (await p.waitFor(/GraphiQL: +(http:\/\/localhost:\d+)\/graphql/, 120_000))[1]!;
    // npm runs node in its place (`exec`), so node is npm's child; so is it unshare's.
    const [node] = childrenOf(p.child.pid!);
    // Its command, not its thread name (/proc/…/comm): Node 24 names its main thread "MainThread".
    expect(path.basename(fs.readFileSync(`/proc/${node}/cmdline`, 'utf8').split('\0')[0]!)).toBe('node');
    const [postmaster, ...others] = postmastersOf(dataDir);
    expect(postmaster).toBeDefined();
    expect(others).toEqual([]);
    // PostgreSQL leads a session and process group of its own: Ctrl-C in the terminal never reaches it.
    const [, , pgrp, session] = fs.readFileSync(`/proc/${postmaster}/stat`, 'utf8').split(') ')[1]!.split(' ').map(Number);
    expect([pgrp, session]).toEqual([postmaster, postmaster]);

    const client = wsClient(base, devKey);
    const events = subscribe(client, 'subscription { ticketEvents { type ticket { title } } }');
    await listeningOn(base, 1);
    const before = await graphql(base, CREATE, { title: 'before the signal' });
    expect(before.errors).toBeUndefined();
    expect((await events.waitFor(1, 30_000))[0]!.data).toEqual({ ticketEvents: { type: 'CREATED', ticket: { title: 'before the signal' } } });

    const title = `written while stopping (${signal} to ${target})`;
    const inFlight = await requestInFlight(base, JSON.stringify({ query: CREATE, variables: { title } }));

    if (target === 'the process group') process.kill(-p.child.pid!, signal);
    else process.kill(target === 'npm' ? p.child.pid! : node!, signal);
    await p.waitFor(new RegExp(`stopping \\(${signal}\\)`), 30_000);

    expect((await client.closed).code).toBe(1001);
    const answer = await inFlight.finish();
    expect(answer.status).toBe(200);
    expect(answer.json.data).toEqual({ createTicket: { ticket: { title } } });

    // "stopped" is printed once PostgreSQL has exited, just before the process exits.
    await p.waitFor(/^ {2}stopped$/m, 60_000);
    expect(isAlive(postmaster!)).toBe(false);
    expect(await p.exited).toBe(0);
    expect(isAlive(node!)).toBe(false);
    expect(p.stdout().match(/stopping \(/g)).toHaveLength(1);
    expect(postmastersOf(dataDir)).toEqual([]);
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    expect(p.stdout()).not.toContain('shutdown step');
    expect(p.stderr()).toBe('');
  }, 180_000);

  test('npm run worker stops the same way: Ctrl-C in a terminal, and its PostgreSQL stops before it exits 0', async () => {
    const worker = runNpm('worker', env());
    started.push(worker);
    await worker.waitFor(/ticketql worker is running/, 120_000);
    const [postmaster] = postmastersOf(dataDir);
    expect(postmaster).toBeDefined();
    process.kill(-worker.child.pid!, 'SIGINT');
    await worker.waitFor(/^ {2}stopped$/m, 60_000);
    expect(isAlive(postmaster!)).toBe(false);
    expect(await worker.exited).toBe(0);
    expect(postmastersOf(dataDir)).toEqual([]);
    expect(worker.stderr()).toBe('');
  }, 180_000);

  test('a stop asked for during start-up lets the running step finish, then undoes what started, PostgreSQL last, and exits 0', async () => {
    const server = runBuilt('build/src/main.js', [], env());
    started.push(server);
    await server.waitFor(/starting PostgreSQL …/, 120_000);
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(server.stdout().split('\n').map((line) => line.trim()).filter(Boolean)).toEqual([
      'starting PostgreSQL …',
      'SIGTERM: stopping once the current start-up step is done …',
      'stopping (SIGTERM) …',
      'stopped',
    ]);
    expect(postmastersOf(dataDir)).toEqual([]);
    expect(server.stderr()).toBe('');
  }, 180_000);
});
