// The Prisma client of the running server: pure JavaScript through the pg driver adapter.
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from './generated/prisma/client.js';
import { installPlanCache } from './prisma-plans.js';

// Query plans are cached by shape (see prisma-plans.ts) for every client.
installPlanCache();

export type Db = PrismaClient;
/** The client inside `db.$transaction`. */
export type Tx = Prisma.TransactionClient;

/** The connection pool behind each client, for metrics. */
export const poolOf = new WeakMap<Db, pg.Pool>();

/** A client with its own pool; `onQuery` sees every SQL statement (tests count them). */
export function createDb(url: string, poolSize: number, onQuery?: (sql: string) => void): Db {
  // A request waits at most 5 s for a free connection, then gets SERVICE_UNAVAILABLE
  // (see plugins/error-masking.ts) instead of waiting without end on an overloaded server.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 });
  // An idle connection that the server closes (a restart, an admin) is dropped by the
  // pool; without a listener its 'error' event would crash the process. Prisma adds its
  // own only once it first connects, and credential lookups use the pool before that.
  pool.on('error', () => {});
  const adapter = new PrismaPg(pool, { disposeExternalPool: true });
  const db = onQuery ? new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] }) : new PrismaClient({ adapter });
  if (onQuery) (db as PrismaClient<'query'>).$on('query', (event) => onQuery(event.query));
  poolOf.set(db, pool);
  return db;
}

/**
 * The first row of a prepared statement run on the client's pool, bypassing Prisma:
 * for the few statements every request runs (see auth/viewer.ts).
 */
export async function queryOne<Row>(db: Db, name: string, text: string, values: unknown[]): Promise<Row | undefined> {
  const pool = poolOf.get(db);
  if (!pool) throw new Error('The database client has no pool');
  const result = await pool.query<Row & pg.QueryResultRow>({ name, text, values });
  return result.rows[0];
}
