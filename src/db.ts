// The Prisma client of the running server: pure JavaScript through the pg driver adapter.
import { AsyncLocalStorage } from 'node:async_hooks';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient, type Prisma } from './generated/prisma/client.js';
import { statementAndCommit } from './pg-commit.js';
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
  queryRaw(query: Queryable): Promise<unknown>;
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
      const queryRaw = tx.queryRaw.bind(tx);
      const mine = () => (own?.client === tx.client ? own : undefined);
      tx.executeRaw = async (query) => {
        const ending = /^(COMMIT|ROLLBACK)$/i.exec(query.sql.trim())?.[0].toUpperCase();
        const sent = mine()?.ended;
        if (!ending) assertOpen(mine());
        // Prisma ends the transaction itself (its timeout may fire while the work still
        // runs): from now on the work's own statements would run outside of it.
        else if (!sent) Object.assign(mine() ?? {}, { closed: true });
        try {
          // The change sent its COMMIT with its last statement (queryAndCommit): Prisma's
          // COMMIT or ROLLBACK waits for that one's answer instead of sending its own.
          if (!ending || !sent) return await executeRaw(query);
          const answer = await sent;
          if (ending === 'COMMIT' && answer.command !== 'COMMIT') throw new Error('The transaction rolled back: its last statement failed');
          return 0;
        } catch (err) {
          if (!ending) throw err;
          releaseOnce(err instanceof Error ? err : new Error(String(err)));
          // A ROLLBACK after the change's own end failed: the transaction is over either
          // way (its connection destroyed), and Prisma reports the work's own error, or
          // none when its timer asked (a throw there would be an unhandled rejection).
          if (sent && ending === 'ROLLBACK') return 0;
          // pg's own error, as the adapter would have turned it into Prisma's.
          if (sent) (adapter as unknown as { onError(error: unknown): never }).onError(err);
          throw err;
        }
      };
      tx.queryRaw = async (query) => {
        assertOpen(mine());
        return queryRaw(query);
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

/**
 * The name each text is prepared under on every connection (pg refuses one name for two
 * texts on a connection), or undefined once `max` texts have one: each connection keeps
 * each prepared text, so a new text past that runs unprepared.
 */
function preparedNames(prefix: string, max: number): (text: string) => string | undefined {
  const names = new Map<string, string>();
  return (text) => {
    let name = names.get(text);
    if (!name && names.size < max) names.set(text, (name = `${prefix}${names.size + 1}`));
    return name;
  };
}

const preparedName = preparedNames('ticketql-', 200);

/**
 * The names of the reads whose texts follow the operation's selection and filter
 * (schema/tickets/reads.ts): an allowance of their own, so that callers who vary those
 * cannot use up the one of the changes' statements.
 */
export const selectionReadName = preparedNames('ticketql-read-', 100);

/**
 * The rows of a hand-written read on the client's pool, prepared once per connection: for
 * the hottest reads (domain/tickets.ts, visibleTicket; schema/tickets/reads.ts, under the
 * names of `nameOf`). Their texts must be few (one name is kept per text), so values go in
 * as parameters only.
 */
export async function queryPrepared<Row>(db: Db, statement: Prisma.Sql, nameOf = preparedName): Promise<Row[]> {
  const text = statement.text;
  onQueryOf.get(db)?.(text);
  return (await poolFor(db).query<Row & pg.QueryResultRow>({ name: nameOf(text), text, values: statement.values })).rows;
}

/**
 * The connection of a transaction started by transaction(), while it is open: the COMMIT
 * that queryAndCommit sent on it, or whether Prisma has begun to end it itself.
 */
type Connection = { client?: pg.PoolClient; onQuery?: (sql: string) => void; ended?: Promise<pg.QueryResult>; closed?: boolean };
const connections = new AsyncLocalStorage<Connection>();

/** A statement once the transaction's COMMIT or ROLLBACK went out would run outside of it. */
function assertOpen(own: Connection | undefined) {
  if (own?.ended) throw new Error('The transaction has sent its COMMIT: no statement may follow its last one');
  // Prisma ends a transaction under a running work only when its timeout fires: the
  // client is answered as for Prisma's own P2028 (busy, nothing written, retry).
  if (own?.closed) throw new Error('Transaction API error (P2028): the transaction timed out while its work still ran');
}

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
  const own: Connection = {};
  let done: { value: T } | undefined;
  try {
    return await connections.run(own, () =>
      db.$transaction(async (tx) => {
        const value = await work(tx);
        done = { value };
        return value;
      }),
    );
  } catch (err) {
    // Prisma may have given up on the transaction (its timeout) after queryAndCommit sent
    // the COMMIT: what the database answered is the outcome, not Prisma's view of it.
    // (A COMMIT queued after Prisma had begun its own ROLLBACK cannot be: see assertOpen.)
    const ended = await own.ended?.catch(() => undefined);
    if (done && ended?.command === 'COMMIT') return done.value;
    throw err;
  } finally {
    if (--inFlight === 0) connections.disable();
  }
}

/**
 * The rows of a hand-written statement in the transaction `tx`. In a transaction started
 * by transaction() the statement goes straight to the transaction's pg connection:
 * Prisma's $queryRaw spent about four times the driver's CPU on each (serialising the
 * request, planning it, mapping the rows), the largest part of a mutation's CPU. It is
 * prepared once per connection (as queryPrepared's), which spares PostgreSQL parsing and
 * planning it again while the change holds its row locks: values go in as parameters
 * only. The rows are pg's: columns of type bigint or numeric come as strings, so such
 * statements cast them (to int or text). Elsewhere it is `tx.$queryRaw`.
 */
export async function query<Row>(tx: Tx, statement: Prisma.Sql): Promise<Row[]> {
  const own = connections.getStore();
  if (!own?.client) return tx.$queryRaw<Row[]>(statement);
  assertOpen(own);
  own.onQuery?.(statement.text);
  const { text, values } = statement;
  const result = await own.client.query<Row & pg.QueryResultRow>({ name: preparedName(text), text, values });
  return result.rows;
}

/**
 * query() for a transaction's last statement, with the transaction's COMMIT written right
 * behind it (pg-commit.ts): PostgreSQL commits as soon as the statement has run, while
 * the transaction holds its row locks (under contention for a ticket or team row, that
 * hold time bounds the writes per second, see BENCHMARKS.md). If the statement fails,
 * the server skips the COMMIT and the transaction is rolled back. Nothing may run in `tx`
 * after it, and nothing in the work may fail after it. Outside transaction() it is
 * query(), and Prisma commits.
 */
export async function queryAndCommit<Row>(tx: Tx, statement: Prisma.Sql): Promise<Row[]> {
  const own = connections.getStore();
  if (!own?.client) return query(tx, statement);
  assertOpen(own);
  own.onQuery?.(statement.text);
  const { text, values } = statement;
  const { rows, ended } = statementAndCommit<Row>(own.client, { name: preparedName(text), text, values });
  own.ended = ended;
  // Its failure is Prisma's to report, when it ends the transaction.
  ended.catch(() => {});
  return rows;
}
