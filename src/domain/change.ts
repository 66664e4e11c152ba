// A change: one transaction; the ticket events it records are written inside it,
// and everything live subscribers hear of it is published only once it has committed.
import type { Db } from '../db.js';
import { toBusEvent, type BusEvent, type EventBus } from '../live/bus.js';
import { endpointsOnce, enqueueSideEffects, type Snapshot } from '../jobs/side-effects.js';
import type { Tx } from '../db.js';
import { recordEvent, type NewEvent } from './events.js';
import { keyedChange, type IdempotencyClaim } from './idempotency.js';

export type Deps = {
  db: Db;
  bus: EventBus;
  /** A request sent with an Idempotency-Key: the key's use commits with each change. */
  idempotency?: IdempotencyClaim;
};

/** What a change may announce besides ticket events: credentials and teams that are gone. */
export type Announcement = Exclude<BusEvent, { kind: 'ticket-event' }>;

export type ChangeScope = {
  tx: Tx;
  /**
   * Records an event in the transaction and enqueues its emails and webhooks
   * (from `snapshot`: the ticket as it now is); it is published after the commit.
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
  const published: BusEvent[] = [];
  const result = await deps.db.$transaction(async (tx) => {
    await hooks?.first(tx);
    let endpoints: ReturnType<typeof endpointsOnce> | undefined;
    const done = await work({
      tx,
      async record(event, snapshot) {
        const row = await recordEvent(tx, event);
        endpoints ??= endpointsOnce(tx, event.teamId);
        await enqueueSideEffects(tx, row, snapshot, endpoints);
        published.push(toBusEvent(row));
      },
      announce(event) {
        published.push(event);
      },
    });
    await hooks?.last(tx, done);
    return done;
  });
  for (const e of published) deps.bus.publish(e);
  return result;
}
