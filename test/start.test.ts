// `npm start` as a newcomer runs it: no DATABASE_URL, an embedded PostgreSQL
// under the data directory, a printed dev key; and its failures. It runs the
// compiled server (build/), as `npm start` does.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { build, childrenOf, cleanEnv, cli, isAlive, postgresGone, postmastersOf, root, run, runBuilt, runCommand, type Running } from './support/process.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-start-'));
fs.chmodSync(dataDir, 0o755);
const started: Running[] = [];
const migrations = fs.readdirSync(path.join(root, 'prisma', 'migrations'), { withFileTypes: true }).filter((d) => d.isDirectory());

beforeAll(() => build(), 300_000);

afterAll(async () => {
  for (const p of started) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  fs.rmSync(dataDir, { recursive: true, force: true });
});

function start(extra: Record<string, string> = {}) {
  const p = runBuilt('build/src/main.js', [], cleanEnv({ DATA_DIR: dataDir, PORT: '0', ...extra }));
  started.push(p);
  return p;
}

/** The progress lines printed before the banner. */
function progressOf(p: Running): string[] {
  const [before] = p.stdout().split('\n  ticketql is running');
  return before!.split('\n').filter((line) => line.startsWith('  ')).map((line) => line.trim());
}

async function viewer(base: string, key: string) {
  const res = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query: '{ viewer { role team { slug } } }' }),
  });
  return (await res.json()) as { data?: { viewer: { role: string; team: { slug: string } } }; errors?: unknown[] };
}

function postgresPid(): number | undefined {
  const file = path.join(dataDir, 'postgres', 'postmaster.pid');
  if (!fs.existsSync(file)) return undefined;
  const pid = Number(fs.readFileSync(file, 'utf8').split('\n')[0]);
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

describe('npm start on a fresh machine', () => {
  let devKey = '';
  let cliKey = '';

  test('npm start builds, starts an embedded PostgreSQL, migrates, creates the demo team, saying so, and prints the GraphiQL URL and a dev key', async () => {
    // `npm start` itself, pre-script (the build) included.
    const server = runCommand('npm', ['start'], cleanEnv({ DATA_DIR: dataDir, PORT: '0' }));
    started.push(server);
    const [, base] = await server.waitFor(/GraphiQL: +(http:\/\/localhost:\d+)\/graphql/, 240_000);
    devKey = (await server.waitFor(/Dev key: +(sk_test_[0-9A-Za-z]{32})/))[1]!;
    expect(progressOf(server)).toEqual([
      `initialising PostgreSQL in ${path.join(dataDir, 'postgres')} (first start) …`,
      'starting PostgreSQL …',
      `applying ${migrations.length} migrations …`,
      'creating the demo team …',
    ]);
    expect((await viewer(base!, devKey)).data).toEqual({ viewer: { role: 'ADMIN', team: { slug: 'demo' } } });
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);

    // GraphiQL and its assets, served by the compiled server.
    const page = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script src="/graphiql-assets/graphiql.js"></script>');
    const script = await fetch(`${base}/graphiql-assets/graphiql.js`);
    expect([script.status, script.headers.get('content-type')]).toEqual([200, 'application/javascript; charset=utf-8']);
    expect((await script.arrayBuffer()).byteLength).toBeGreaterThan(100_000);

    // The CLI uses the running server's embedded PostgreSQL.
    const key = await cli(['create-key', '--team', 'demo', '--scopes', 'READ'], cleanEnv({ DATA_DIR: dataDir }), { built: true });
    expect(key.stderr).toBe('');
    cliKey = key.json().secret;
    expect((await viewer(base!, cliKey)).data?.viewer.role).toBe('AGENT');

    const pid = postgresPid();
    expect(pid).toBeDefined();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(postgresPid()).toBeUndefined();
    expect(() => process.kill(pid!, 0)).toThrow();
  }, 300_000);

  test('a second start reuses the data: same dev key, keys made before still work', async () => {
    const server = start();
    const [, base] = await server.waitFor(/GraphiQL: +(http:\/\/localhost:\d+)\/graphql/);
    const [, key] = await server.waitFor(/Dev key: +(sk_test_\w+)/);
    expect(key).toBe(devKey);
    expect(progressOf(server)).toEqual(['starting PostgreSQL …']);
    expect((await viewer(base!, cliKey)).data?.viewer.role).toBe('AGENT');
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
    expect(postgresPid()).toBeUndefined();
  }, 120_000);

  test('killed with SIGKILL, the server takes its PostgreSQL with it: nothing is left holding the data', async () => {
    const server = start();
    await server.waitFor(/Dev key: +(sk_test_\w+)/, 120_000);
    const pid = postgresPid();
    expect(pid).toBeDefined();
    server.child.kill('SIGKILL');
    await server.exited;
    await postgresGone(dataDir);
    expect(postgresPid()).toBeUndefined();
  }, 180_000);

  test('a PostgreSQL left running by a process killed together with its watchdog is stopped by the next start', async () => {
    const first = start();
    await first.waitFor(/Dev key: +(sk_test_\w+)/, 120_000);
    const postmaster = postgresPid()!;
    // The server's children: PostgreSQL and the shell that watches for the server's end.
    const [watchdog] = childrenOf(first.child.pid!).filter((pid) => pid !== postmaster);
    process.kill(watchdog!, 'SIGKILL');
    first.child.kill('SIGKILL');
    await first.exited;
    expect(isAlive(postmaster)).toBe(true);

    const second = start();
    await second.waitFor(/Dev key: +(sk_test_\w+)/, 120_000);
    expect(progressOf(second)).toEqual([
      `stopping the PostgreSQL (pid ${postmaster}) left running in ${path.join(dataDir, 'postgres')} …`,
      'starting PostgreSQL …',
    ]);
    expect(isAlive(postmaster)).toBe(false);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(postmastersOf(dataDir)).toEqual([]);
  }, 240_000);

  test('a busy port stops it with a one-line error, exit 1, and no PostgreSQL left behind', async () => {
    const blocker = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => blocker.once('listening', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const server = start({ PORT: String(port) });
      expect(await server.exited).toBe(1);
      expect(server.stderr().trim()).toBe(`ticketql: port ${port} is already in use; stop the other process or set PORT`);
      expect(postgresPid()).toBeUndefined();
    } finally {
      blocker.close();
    }
  }, 120_000);

  test('loading the embedded PostgreSQL keeps the exit code a process sets: a failed test run fails, a clean one passes', async () => {
    expect(await run('test/support/exit-code.ts', [], cleanEnv({ EXIT_CODE: '3' })).exited).toBe(3);
    expect(await run('test/support/exit-code.ts', [], cleanEnv({ EXIT_CODE: '0' })).exited).toBe(0);
  });

  test('a bad setting names the variable and exits 1', async () => {
    const server = start({ PORT: 'eighty' });
    expect(await server.exited).toBe(1);
    expect(server.stderr().trim()).toBe('ticketql: Invalid configuration: PORT="eighty": Invalid input: expected number, received NaN');
  });

  test('an unreachable DATABASE_URL is a one-line error, exit 1', async () => {
    const server = start({ DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/nowhere' });
    expect(await server.exited).toBe(1);
    const lines = server.stderr().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^ticketql: cannot reach the database at DATABASE_URL .*ECONNREFUSED/);
  });
});

describe('the build', () => {
  test('the compiled code needs only the dependencies: tsx, TypeScript and the other devDependencies can be left out in production', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const files = (fs.readdirSync(path.join(root, 'build', 'src'), { recursive: true }) as string[]).filter((f) => f.endsWith('.js'));
    expect(files).toContain('main.js');
    const needed = new Set<string>();
    for (const file of files) {
      const text = fs.readFileSync(path.join(root, 'build', 'src', file), 'utf8');
      // Static and dynamic imports, and createRequire(…).resolve (the Prisma CLI).
      for (const [, spec] of text.matchAll(/(?:\bfrom|\bimport\s*\(?|\)\.resolve\()\s*['"]([^'"./][^'"]*)['"]/g)) {
        if (spec!.startsWith('node:')) continue;
        needed.add(spec!.split('/').slice(0, spec!.startsWith('@') ? 2 : 1).join('/'));
      }
    }
    expect(needed.has('graphql-yoga') && needed.has('prisma')).toBe(true);
    expect([...needed].filter((name) => !(name in pkg.dependencies))).toEqual([]);
  });
});
