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

export type Statement = { name?: string; text: string; values: unknown[] };

/**
 * Sends `statement` and a COMMIT on `client` (inside a transaction it began) in one write.
 * `rows` are the statement's; `ended` is how the transaction ended: the COMMIT's result
 * when both ran, or, when the statement failed (then the server skips the COMMIT), the
 * result of the ROLLBACK sent after it. `ended` fails when the COMMIT itself did.
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
  private readonly result = new Result();
  private stage: 'statement' | 'commit' = 'statement';
  private commitTag = '';

  constructor(
    private readonly client: pg.PoolClient,
    private readonly statement: Statement,
    private readonly rows: Deferred<Row[]>,
    private readonly ended: Deferred<pg.QueryResult>,
  ) {
    this.name = statement.name;
    this.text = statement.text;
  }

  /** Called by pg when it is this query's turn; an error returned is handed to handleError. */
  submit(wire: Wire): Error | null {
    const { name, text } = this.statement;
    const parsed = name ? wire.parsedStatements[name] : undefined;
    if (parsed !== undefined && parsed !== text) return new Error(`Prepared statements must be unique - '${name}' was used for a different statement`);
    let values: Array<string | Buffer | null>;
    try {
      // Before anything is written: a value that cannot be sent leaves the connection as it was.
      values = this.statement.values.map(prepareValue);
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err));
    }
    wire.stream.cork?.();
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
    this.result.addFields(message.fields);
  }

  handleDataRow(message: { fields: unknown[] }) {
    this.result.addRow(this.result.parseRow(message.fields));
  }

  handleCommandComplete(message: { text: string }) {
    if (this.stage === 'statement') this.stage = 'commit';
    else this.commitTag = message.text;
  }

  handleEmptyQuery() {}

  /** pg calls it for the server's ErrorResponse (it then skips to the Sync) or a broken connection. */
  handleError(err: Error) {
    if (this.stage === 'statement') {
      // The transaction is left aborted, not ended: it is rolled back on the same connection.
      this.rows.reject(err);
      this.ended.resolve(this.client.query('ROLLBACK'));
    } else {
      this.rows.resolve(this.result.rows as Row[]);
      this.ended.reject(err);
    }
  }

  handleReadyForQuery() {
    this.rows.resolve(this.result.rows as Row[]);
    this.ended.resolve({ command: this.commitTag, rowCount: null, oid: 0, rows: [], fields: [] });
  }
}
