// A change: one transaction; the ticket events it records are written inside it,
// and everything live subscribers hear of it is published only once it has committed.
// Its events and their jobs are written at the end, in one statement each: events
// take the team's row lock (their seq), which then lasts only until the commit.
import type { Db } from '../db.js';
import { toBusEvent, type Announcement, type BusEvent, type EventBus } from '../live/bus.js';
import { addJobs, type JobSpec } from '../jobs/queue.js';
import { endpointsOnce, sideEffectsOf, type EventOfChange, type Snapshot } from '../jobs/side-effects.js';
import type { Tx } from '../db.js';
import { eventRow, recordEvents, type NewEvent } from './events.js';
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
};

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

async function run<T>(
  deps: Deps,
  work: (scope: ChangeScope) => Promise<T>,
  hooks?: { first: (tx: Tx) => Promise<void>; last: (tx: Tx, result: T) => Promise<void> },
): Promise<T> {
  // Announcements and recorded events, in order; an event is published with its seq.
  const published: Array<Announcement | EventOfChange> = [];
  const events: EventOfChange[] = [];
  let numbered = new Map<string, BusEvent>();
  const result = await deps.db.$transaction(async (tx) => {
    await hooks?.first(tx);
    let endpoints: ReturnType<typeof endpointsOnce> | undefined;
    const jobs: JobSpec[] = [];
    const done = await work({
      tx,
      async record(event, snapshot) {
        const row = eventRow(event);
        endpoints ??= endpointsOnce(tx, event.teamId);
        jobs.push(...(await sideEffectsOf(tx, row, snapshot, endpoints)));
        events.push(row);
        published.push(row);
      },
      announce(event) {
        published.push(event);
      },
    });
    await hooks?.last(tx, done);
    await addJobs(tx, jobs);
    numbered = new Map((await recordEvents(tx, events)).map((row) => [row.id, toBusEvent(row)]));
    return done;
  });
  for (const e of published) {
    const event = 'kind' in e ? e : numbered.get(e.id)!;
    if (event.kind === 'ticket-event' && deps.writes) deps.writes.last = BigInt(event.seq);
    deps.bus.publish(event);
  }
  return result;
}
