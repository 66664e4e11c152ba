// Configuration of the Prisma CLI (generate, migrate). The running server does
// not load this file: it builds its own client in src/db.ts.
import { randomUUID } from 'node:crypto';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { parse } from 'pg-connection-string';
import { defineConfig } from 'prisma/config';

// The WebAssembly schema engine cannot decode some PostgreSQL catalog types
// through @prisma/adapter-pg (prisma/prisma#27403: "Column type 'name' could not
// be deserialized"). Catalog queries are read-only, so report those columns as
// text / text[], which the engine understands. Needed by the CLI only.
const AS_TEXT = new Set([18, 19, 22, 24, 30, 194, 1033, 2205]); // char, name, int2vector, regproc, oidvector, pg_node_tree, aclitem, regclass
const AS_TEXT_ARRAY = new Set([1002, 1003]); // char[], name[]
function retypeFields(result: unknown): unknown {
  for (const r of Array.isArray(result) ? result : [result]) {
    for (const field of (r as pg.QueryResult | undefined)?.fields ?? []) {
      if (AS_TEXT.has(field.dataTypeID)) field.dataTypeID = 25;
      else if (AS_TEXT_ARRAY.has(field.dataTypeID)) field.dataTypeID = 1009;
    }
  }
  return result;
}
const originalQuery = pg.Client.prototype.query as (...args: unknown[]) => unknown;
pg.Client.prototype.query = function patchedQuery(this: pg.Client, ...args: unknown[]) {
  const last = args.length - 1;
  if (typeof args[last] === 'function') {
    const callback = args[last] as (err: unknown, res: unknown) => void;
    args[last] = (err: unknown, res: unknown) => callback(err, err ? res : retypeFields(res));
    return originalQuery.apply(this, args);
  }
  const out = originalQuery.apply(this, args);
  return out instanceof Promise ? out.then(retypeFields) : out;
} as typeof pg.Client.prototype.query;

// `prisma generate` needs no database, but with the datasource url unresolved
// the CLI sets out to download a native engine, which fails offline.
process.env.DATABASE_URL ??= 'postgresql://localhost/ticketql';

function poolConfig(overrides: pg.PoolConfig = {}): pg.PoolConfig {
  // Separate fields rather than a connectionString, so that `database` can be overridden.
  // allowExitOnIdle: the CLI exits when done instead of waiting for idle connections.
  return { ...(parse(process.env.DATABASE_URL ?? '') as pg.PoolConfig), allowExitOnIdle: true, ...overrides };
}

async function adminQuery(sql: string): Promise<void> {
  const client = new pg.Client(poolConfig());
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

// The shadow database of `migrate dev`. The adapter's own drops the database
// while its pool is still connected, which PostgreSQL refuses; this one closes first.
async function adapter() {
  const factory = new PrismaPg(poolConfig());
  factory.connectToShadowDb = async () => {
    const name = `prisma_shadow_${randomUUID().replace(/-/g, '')}`;
    await adminQuery(`CREATE DATABASE "${name}"`);
    const shadow = await new PrismaPg(poolConfig({ database: name })).connect();
    const dispose = shadow.dispose.bind(shadow);
    shadow.dispose = async () => {
      await dispose();
      await adminQuery(`DROP DATABASE IF EXISTS "${name}"`);
    };
    return shadow;
  };
  return factory;
}

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  experimental: { adapter: true },
  engine: 'js',
  adapter,
});
