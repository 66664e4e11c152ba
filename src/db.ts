// The Prisma client of the running server: pure JavaScript through the pg driver adapter.
import { AsyncLocalStorage } from 'node:async_hooks';
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
/** Each client's `onQuery` (createDb), told of the statements this module sends itself. */
const onQueryOf = new WeakMap<Db, (sql: string) => void>();

type Queryable = { sql: string };
type PgTransaction = {
  client: pg.PoolClient;
  cleanup?: () => void;
  executeRaw(query: Queryable): Promise<number>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
};

/**
 * Prisma's pg adapter, with each transaction's connection given back to the pool once,
 * whatever fails. Prisma 6.19 ends a transaction by sending COMMIT (or ROLLBACK) and only
 * then calling commit()/rollback(), which release the connection: when the statement
 * fails (the server restarted, the connection broke) the release never comes, and each
 * such failure keeps a pool slot forever until no request gets a connection (seen in a
 * PostgreSQL restart under load). Here the failed connection is released, and destroyed,
 * at once; a later release of the same transaction does nothing (see also prisma/orm#29952
 * on double releases).
 */
class ReleasingPg extends PrismaPg {
  constructor(
    pool: pg.Pool,
    private readonly onQuery?: (sql: string) => void,
  ) {
    super(pool, { disposeExternalPool: true });
  }

  override async connect() {
    const adapter = await super.connect();
    const start = adapter.startTransaction.bind(adapter);
    adapter.startTransaction = async (isolationLevel) => {
      // Asked before the first await: the transaction that transaction() started, if any.
      const own = connections.getStore();
      const tx = (await start(isolationLevel)) as unknown as PgTransaction;
      if (own && !own.client) Object.assign(own, { client: tx.client, onQuery: this.onQuery });
      let released = false;
      const releaseOnce = (err?: Error) => {
        if (released) return;
        released = true;
        if (own?.client === tx.client) own.client = undefined;
        tx.cleanup?.();
        tx.client.release(err);
      };
      const executeRaw = tx.executeRaw.bind(tx);
      tx.executeRaw = async (query) => {
        try {
          return await executeRaw(query);
        } catch (err) {
          if (/^(COMMIT|ROLLBACK)$/i.test(query.sql.trim())) releaseOnce(err instanceof Error ? err : new Error(String(err)));
          throw err;
        }
      };
      tx.commit = tx.rollback = async () => releaseOnce();
      return tx as never;
    };
    return adapter;
  }
}

/** A client with its own pool; `onQuery` sees every SQL statement (tests count them). */
export function createDb(url: string, poolSize: number, onQuery?: (sql: string) => void): Db {
  // A request waits at most 5 s for a free connection, then gets SERVICE_UNAVAILABLE
  // (see plugins/error-masking.ts) instead of waiting without end on an overloaded server.
  const pool = new pg.Pool({ connectionString: url, max: poolSize, connectionTimeoutMillis: 5_000 });
  // An idle connection that the server closes (a restart, an admin) is dropped by the
  // pool; without a listener its 'error' event would crash the process. Prisma adds its
  // own only once it first connects, and credential lookups use the pool before that.
  pool.on('error', () => {});
  const adapter = new ReleasingPg(pool, onQuery);
  const db = onQuery ? new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] }) : new PrismaClient({ adapter });
  if (onQuery) (db as PrismaClient<'query'>).$on('query', (event) => onQuery(event.query));
  poolOf.set(db, pool);
  if (onQuery) onQueryOf.set(db, onQuery);
  return db;
}

/**
 * The first row of a prepared statement run on the client's pool, bypassing Prisma:
 * for the few statements every request runs (see auth/viewer.ts).
 */
export async function queryOne<Row>(db: Db, name: string, text: string, values: unknown[]): Promise<Row | undefined> {
  const result = await poolFor(db).query<Row & pg.QueryResultRow>({ name, text, values });
  return result.rows[0];
}

function poolFor(db: Db): pg.Pool {
  const pool = poolOf.get(db);
  if (!pool) throw new Error('The database client has no pool');
  return pool;
}

/** The name each text is prepared under: pg refuses one name for two texts on a connection. */
const preparedNames = new Map<string, string>();

/**
 * The rows of a hand-written read on the client's pool, prepared once per connection: for
 * the hottest reads (domain/tickets.ts, visibleTicket). Their texts must be few (one name
 * is kept per text), so values go in as parameters only.
 */
export async function queryPrepared<Row>(db: Db, statement: Prisma.Sql): Promise<Row[]> {
  const text = statement.text;
  let name = preparedNames.get(text);
  if (!name) preparedNames.set(text, (name = `ticketql-${preparedNames.size + 1}`));
  onQueryOf.get(db)?.(text);
  return (await poolFor(db).query<Row & pg.QueryResultRow>({ name, text, values: statement.values })).rows;
}

/** The connection of a transaction started by transaction(), while it is open. */
type Connection = { client?: pg.PoolClient; onQuery?: (sql: string) => void };
const connections = new AsyncLocalStorage<Connection>();

let inFlight = 0;

/**
 * `db.$transaction(work)`, in which query() sends the hand-written statements on the
 * transaction's connection itself (domain/change.ts).
 *
 * The storage is disabled again whenever no such transaction is running: on Node 20 an
 * enabled AsyncLocalStorage hooks every promise the process makes, which cost reads that
 * make many (a list of 50 tickets) 5–10 % more CPU.
 */
export async function transaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  inFlight++;
  try {
    return await connections.run({}, () => db.$transaction(work));
  } finally {
    if (--inFlight === 0) connections.disable();
  }
}

/**
 * The rows of a hand-written statement in the transaction `tx`. In a transaction started
 * by transaction() the statement goes straight to the transaction's pg connection:
 * Prisma's $queryRaw spent about four times the driver's CPU on each (serialising the
 * request, planning it, mapping the rows), the largest part of a mutation's CPU. The rows
 * are pg's: columns of type bigint or numeric come as strings, so such statements cast
 * them (to int or text). Elsewhere it is `tx.$queryRaw`.
 */
export async function query<Row>(tx: Tx, statement: Prisma.Sql): Promise<Row[]> {
  const own = connections.getStore();
  if (!own?.client) return tx.$queryRaw<Row[]>(statement);
  own.onQuery?.(statement.text);
  const result = await own.client.query<Row & pg.QueryResultRow>({ text: statement.text, values: statement.values });
  return result.rows;
}
