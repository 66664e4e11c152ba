// A change: one transaction; the ticket events it records are written inside it,
// and everything live subscribers hear of it is published only once it has committed.
import type { Db } from '../db.js';
import { toBusEvent, type BusEvent, type EventBus } from '../live/bus.js';
import { endpointsOnce, enqueueSideEffects, type Snapshot } from '../jobs/side-effects.js';
import type { Tx } from '../db.js';
import { recordEvent, type NewEvent } from './events.js';

/** Where a request learns the log position of the last event its changes committed (a mutation's `cursor`). */
export type Writes = { last: bigint | null };

export type Deps = { db: Db; bus: EventBus; writes?: Writes };

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

export async function change<T>(deps: Deps, work: (scope: ChangeScope) => Promise<T>): Promise<T> {
  const published: BusEvent[] = [];
  const result = await deps.db.$transaction(async (tx) => {
    let endpoints: ReturnType<typeof endpointsOnce> | undefined;
    return work({
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
  });
  for (const e of published) {
    if (e.kind === 'ticket-event' && deps.writes) deps.writes.last = BigInt(e.seq);
    deps.bus.publish(e);
  }
  return result;
}
