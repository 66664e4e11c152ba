// A change: one transaction; the ticket events it records are written inside it,
// and everything live subscribers hear of it is published only once it has committed.
// Its events, their jobs and the writes it deferred are written at the end, in one
// statement: events take the team's row lock (their seq), which then lasts only until
// the commit. A change may also read the row it changes without locking it and take
// that lock in the same last statement (`guard`): under writers that contend for one
// row, the lock is then held while PostgreSQL runs that statement, not while this
// process decides what to write.
import { queryAndCommit, transaction, type Db } from '../db.js';
import { toBusEvent, type Announcement, type BusEvent, type EventBus } from '../live/bus.js';
import { addJobsSql, type JobSpec } from '../jobs/queue.js';
import { sideEffectsOf, teamFacts, type EventOfChange, type KnownFacts, type Snapshot, type TeamFacts } from '../jobs/side-effects.js';
import type { Tx } from '../db.js';
import { Prisma } from '../generated/prisma/client.js';
import { eventRow, eventsSql, type NewEvent } from './events.js';
import { keyedChange, type IdempotencyClaim } from './idempotency.js';

/** Where a request learns the log position of the last event its changes committed (a mutation's `cursor`). */
export type Writes = { last: bigint | null };

export type Deps = {
  db: Db;
  bus: EventBus;
  /** A request sent with an Idempotency-Key: the key's use commits with each change. */
  idempotency?: IdempotencyClaim;
  writes?: Writes;
};


export type ChangeScope = {
  tx: Tx;
  /**
   * Records an event in the transaction and enqueues its emails and webhooks
   * (decided now, from `snapshot`: the ticket as it now is; written with the
   * change's other events and jobs at its end); it is published after the commit.
   */
  record(event: NewEvent, snapshot: Snapshot): Promise<void>;
  /** Publishes `event` after the commit, in order with the recorded events; never if the change rolls back. */
  announce(event: Announcement): void;
  /**
   * A data-modifying statement (INSERT, UPDATE or DELETE, without RETURNING) that the
   * change runs in its last statement, with its events and jobs: a write whose result
   * the work already knows costs no round trip of its own. The statements of one change
   * must not touch the same row (PostgreSQL runs them as one, in no set order), and a
   * write that a later statement of the work must see is run at once instead.
   */
  write(statement: Prisma.Sql): void;
  /** What the work has read of its team in its own statements: the side effects then need not read it again. */
  know(facts: KnownFacts & { teamId: string }): void;
  /**
   * Whether the work may read the row it changes without locking it, and write it
   * with `guard`. True on a change's first run, outside an Idempotency-Key (whose
   * stored answer is written before the last statement); false when the change runs
   * again because a guard found its row changed: the work then locks what it reads.
   */
  optimistic: boolean;
  /**
   * A deferred `UPDATE … RETURNING …` of one row, on a condition that the row is as
   * the work read it: it runs first in the change's last statement, and so takes the
   * row's lock there. When it updates no row (the row changed since it was read, or
   * is gone), the statement fails, nothing of the change is written, and the change
   * runs again with `optimistic` false. `onRow` gets the row it returned, as JSON,
   * before the change's result is returned.
   */
  guard(statement: Prisma.Sql, onRow: (row: Record<string, unknown>) => void): void;
};

type Guard = { statement: Prisma.Sql; onRow: (row: Record<string, unknown>) => void };

/** The error of a last statement whose guard found its row changed (see the migration that defines ticketql_guarded). */
const isStaleRead = (err: unknown) =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '40001' && String((err as Error).message).includes('changed since it was read');

/**
 * Runs `work` in one transaction and publishes what it recorded once it has committed.
 * Under an Idempotency-Key (domain/idempotency.ts) a retried request's change answers
 * what it returned the first time instead of running again, so a mutation resolver
 * derives its answer from its changes' results only.
 */
export async function change<T>(deps: Deps, work: (scope: ChangeScope) => Promise<T>): Promise<T> {
  const claim = deps.idempotency;
  const field = claim?.field;
  if (!claim || field === undefined) return run(deps, work);
  return keyedChange(deps.db, claim, field, (hooks) => run(deps, work, hooks));
}

type Hooks<T> = { first: (tx: Tx) => Promise<void>; last: (tx: Tx, result: T) => Promise<void> };

async function run<T>(deps: Deps, work: (scope: ChangeScope) => Promise<T>, hooks?: Hooks<T>): Promise<T> {
  const guarded = { used: false };
  try {
    return await attempt(deps, work, hooks, !hooks, guarded);
  } catch (err) {
    // Once: the second run locks what it reads, so its guards hold.
    if (!guarded.used || !isStaleRead(err)) throw err;
    return attempt(deps, work, hooks, false, guarded);
  }
}

async function attempt<T>(
  deps: Deps,
  work: (scope: ChangeScope) => Promise<T>,
  hooks: Hooks<T> | undefined,
  optimistic: boolean,
  guarded: { used: boolean },
): Promise<T> {
  // Announcements and recorded events, in order; an event is published with its seq.
  const published: Array<Announcement | EventOfChange> = [];
  const events: EventOfChange[] = [];
  let numbered = new Map<string, BusEvent>();
  // The change's own statements go on its connection directly (db.ts, query).
  const result = await transaction(deps.db, async (tx) => {
    await hooks?.first(tx);
    let facts: TeamFacts | undefined;
    let known: (KnownFacts & { teamId: string }) | undefined;
    const jobs: JobSpec[] = [];
    const writes: Prisma.Sql[] = [];
    const guards: Guard[] = [];
    const done = await work({
      tx,
      optimistic,
      guard(statement, onRow) {
        guarded.used = true;
        guards.push({ statement, onRow });
      },
      async record(event, snapshot) {
        const row = eventRow(event);
        facts ??= teamFacts(tx, event.teamId, known?.teamId === event.teamId ? known : {});
        jobs.push(...(await sideEffectsOf(row, snapshot, facts)));
        events.push(row);
        published.push(row);
      },
      announce(event) {
        published.push(event);
      },
      write(statement) {
        writes.push(statement);
      },
      know(facts) {
        known = facts;
      },
    });
    await hooks?.last(tx, done);
    const seqs = await finish(tx, guards, writes, jobs, events);
    numbered = new Map(events.map((row) => [row.id, toBusEvent({ ...row, seq: seqs.get(row.id)! })]));
    return done;
  });
  for (const e of published) {
    const event = 'kind' in e ? e : numbered.get(e.id)!;
    if (event.kind === 'ticket-event' && deps.writes) deps.writes.last = BigInt(event.seq);
    deps.bus.publish(event);
  }
  return result;
}

/**
 * The change's last statement: its guarded writes, its deferred writes, its jobs and its
 * events, as one statement of common table expressions (one round trip, however many
 * there are). Returns each event's seq.
 *
 * The guards come first in its select list, so PostgreSQL runs them (and takes their
 * rows' locks) before the events take the team's: every change locks its rows before
 * its team, whether it locked them in an earlier statement or here.
 */
async function finish(tx: Tx, guards: Guard[], writes: Prisma.Sql[], jobs: JobSpec[], events: EventOfChange[]): Promise<Map<string, bigint>> {
  if (guards.length === 0 && writes.length === 0 && jobs.length === 0 && events.length === 0) return new Map();
  const parts = guards.map((guard, i) => Prisma.sql`${Prisma.raw(`g${i}`)} AS (${guard.statement})`);
  parts.push(...writes.map((statement, i) => Prisma.sql`${Prisma.raw(`w${i}`)} AS (${statement})`));
  // A SELECT in WITH runs only when the main query reads it: hence the count below.
  parts.push(jobs.length > 0 ? Prisma.sql`jobs AS (${addJobsSql(jobs)})` : Prisma.sql`jobs AS (SELECT 1 WHERE false)`);
  if (events.length > 0) parts.push(eventsSql(events));
  const checked = guards.length > 0
    ? Prisma.sql`json_build_array(${Prisma.join(guards.map((_, i) => Prisma.raw(`ticketql_guarded((SELECT row_to_json(g${i}) FROM g${i}))`)))})`
    : Prisma.sql`'[]'::json`;
  const numbered = events.length > 0 ? Prisma.sql`(SELECT coalesce(json_agg(json_build_object('id', id, 'seq', seq)), '[]') FROM ev)` : Prisma.sql`'[]'::json`;
  // The COMMIT is written with it (pg-commit.ts): whatever could fail has run.
  const [row] = await queryAndCommit<{ guarded: Array<Record<string, unknown>>; jobs: number; events: Array<{ id: string; seq: string }> }>(tx, Prisma.sql`
    WITH ${Prisma.join(parts, ',\n')}
    SELECT ${checked} AS guarded, (SELECT count(*) FROM jobs)::int AS jobs, ${numbered} AS events`);
  for (const [i, guard] of guards.entries()) guard.onRow(row!.guarded[i]!);
  return new Map(row!.events.map((e) => [e.id, BigInt(e.seq)]));
}
