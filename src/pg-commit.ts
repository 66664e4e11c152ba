// A transaction's last statement and its COMMIT, written to PostgreSQL together and
// closed by one Sync: the server commits as soon as the statement has run, without the
// statement's answer first travelling to this process and a COMMIT travelling back.
// While the transaction holds its row locks (a ticket's, its team's), that trip is time
// in which no other change to those rows can run; on a busy process it is a wait for
// the event loop besides.
//
// It is a pg "submittable" (the interface pg-cursor and pg-query-stream use): pg hands it
// the connection when it is the client's turn and routes the server's messages to it.
import { createRequire } from 'node:module';
import type pg from 'pg';

const require = createRequire(import.meta.url);

type FieldDescription = { name: string; dataTypeID: number; format?: string };
type PgResult = {
  rows: Record<string, unknown>[];
  addFields(fields: FieldDescription[]): void;
  parseRow(values: unknown[]): Record<string, unknown>;
  addRow(row: Record<string, unknown>): void;
};
// pg's own result (the column parsers) and value serialisation, as its Query uses them.
const Result = require('pg/lib/result.js') as new (rowMode?: string, types?: unknown) => PgResult;
const { prepareValue } = require('pg/lib/utils.js') as { prepareValue(value: unknown): string | Buffer | null };

type Wire = {
  parsedStatements: Record<string, string>;
  stream: { cork?(): void; uncork?(): void };
  parse(query: { text: string; name?: string; types?: number[] }): void;
  bind(config: { statement?: string; values?: Array<string | Buffer | null> }): void;
  describe(message: { type: 'P'; name: string }): void;
  execute(config: { portal: string }): void;
  sync(): void;
};

type Statement = { name?: string; text: string; values: unknown[] };

/**
 * Sends `statement` and a COMMIT on `client` (inside a transaction it began) in one write.
 * `rows` are the statement's; `ended` is how the transaction ended: the COMMIT's result
 * when both ran, or, when the server refused the statement (it then skips the COMMIT),
 * the result of the ROLLBACK sent after it. `ended` fails when the COMMIT failed and
 * when the outcome is unknown (the connection broke, pg's query_timeout fired, before
 * the COMMIT's answer): the caller then destroys the connection.
 */
export function statementAndCommit<Row>(client: pg.PoolClient, statement: Statement): { rows: Promise<Row[]>; ended: Promise<pg.QueryResult> } {
  const rows = deferred<Row[]>();
  const ended = deferred<pg.QueryResult>();
  client.query(new StatementAndCommit(client, statement, rows, ended) as never);
  return { rows: rows.promise, ended: ended.promise };
}

type Deferred<T> = { promise: Promise<T>; resolve(value: T | PromiseLike<T>): void; reject(err: Error): void };

function deferred<T>(): Deferred<T> {
  const d = {} as Deferred<T>;
  d.promise = new Promise<T>((resolve, reject) => Object.assign(d, { resolve, reject }));
  return d;
}

class StatementAndCommit<Row> {
  // pg's client records a parsed statement under its query's name and text (see submit).
  readonly name?: string;
  readonly text: string;
  private readonly values: unknown[];
  // Named as pg's Query names it: pg gives it the client's type parsers.
  private readonly _result = new Result();
  private stage: 'statement' | 'commit' = 'statement';
  private commitTag = '';
  private rowError: Error | undefined;
  private settled = false;
  /** Whether submit wrote the statement: until then, a failure leaves the transaction as it was. */
  private written = false;
  /**
   * pg replaces it when a query_timeout applies (its timer is cleared only by the call);
   * it is called once, when this query settles.
   */
  callback: (err: Error | null) => void = () => {};

  constructor(
    private readonly client: pg.PoolClient,
    { name, text, values }: Statement,
    private readonly rows: Deferred<Row[]>,
    private readonly ended: Deferred<pg.QueryResult>,
  ) {
    this.name = name;
    this.text = text;
    this.values = values;
  }

  /** Called by pg when it is this query's turn; an error returned is handed to handleError. */
  submit(wire: Wire): Error | null {
    const { name, text } = this;
    const parsed = name ? wire.parsedStatements[name] : undefined;
    if (parsed !== undefined && parsed !== text) return new Error(`Prepared statements must be unique - '${name}' was used for a different statement`);
    let values: Array<string | Buffer | null>;
    try {
      // Before anything is written: a value that cannot be sent leaves the connection as it was.
      values = this.values.map(prepareValue);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    wire.stream.cork?.();
    this.written = true;
    try {
      // Each ParseComplete makes pg record this query's name and text as parsed: the
      // COMMIT's (unnamed) records the statement's again, which it then is.
      if (parsed === undefined) wire.parse({ text, name, types: [] });
      wire.bind({ statement: name, values });
      wire.describe({ type: 'P', name: '' });
      wire.execute({ portal: '' });
      wire.parse({ text: 'COMMIT' });
      wire.bind({});
      wire.execute({ portal: '' });
      wire.sync();
    } finally {
      wire.stream.uncork?.();
    }
    return null;
  }

  handleRowDescription(message: { fields: FieldDescription[] }) {
    this._result.addFields(message.fields);
  }

  handleDataRow(message: { fields: unknown[] }) {
    if (this.rowError) return;
    try {
      this._result.addRow(this._result.parseRow(message.fields));
    } catch (err) {
      // A type parser that throws fails the statement's rows, as in pg's Query, not the process.
      this.rowError = err instanceof Error ? err : new Error(String(err));
    }
  }

  handleCommandComplete(message: { text: string }) {
    if (this.stage === 'statement') this.stage = 'commit';
    else this.commitTag = message.text;
  }

  handleEmptyQuery() {
    this.stage = 'commit';
  }

  // Never asked of this statement (no COPY, no row limit): answered as pg's Query would.
  handlePortalSuspended() {}

  handleCopyInResponse(wire: { sendCopyFail(message: string): void }) {
    wire.sendCopyFail('No source stream defined');
  }

  handleCopyData() {}

  /**
   * pg calls it for the server's ErrorResponse (the server then skips to the Sync), a
   * broken connection, or its query_timeout.
   */
  handleError(err: Error) {
    if (this.settled) return;
    if (this.commitTag === 'COMMIT') {
      // The server's COMMIT answer arrived before the break: it committed.
      this.settle(null, 'COMMIT');
      return this.callback(null);
    }
    const refused = !this.written || ('severity' in err && 'code' in err);
    if (this.stage === 'statement' && refused) {
      // Never sent, or refused by the server, which then skipped the COMMIT: the
      // transaction is still open, and is rolled back on the same connection.
      this.settle(err);
      this.ended.resolve(this.client.query('ROLLBACK'));
    } else {
      // The COMMIT failed, or nobody knows whether it ran.
      this.settle(this.stage === 'statement' ? err : null);
      this.ended.reject(err);
    }
    this.callback(err);
  }

  handleReadyForQuery() {
    if (this.settled) return;
    this.settle(this.rowError ?? null, this.commitTag);
    this.callback(null);
  }

  /** Settles the rows (with `err`, or with what arrived) and, given a tag, how the transaction ended. */
  private settle(err: Error | null, tag?: string) {
    this.settled = true;
    if (err) this.rows.reject(err);
    else this.rows.resolve(this._result.rows as Row[]);
    if (tag !== undefined) this.ended.resolve({ command: tag, rowCount: null, oid: 0, rows: [], fields: [] });
  }
}
