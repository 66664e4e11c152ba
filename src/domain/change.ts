// A change to tickets: one transaction, its events recorded inside it and
// published to live subscribers only once it has committed.
import type { Db } from '../db.js';
import { toBusEvent, type EventBus } from '../live/bus.js';
import { endpointsOnce, enqueueSideEffects, type Snapshot } from '../jobs/side-effects.js';
import type { Tx } from '../db.js';
import { recordEvent, type NewEvent } from './events.js';

export type Deps = { db: Db; bus: EventBus };

export type ChangeScope = {
  tx: Tx;
  /**
   * Records an event in the transaction and enqueues its emails and webhooks
   * (from `snapshot`: the ticket as it now is); it is published after the commit.
   */
  record(event: NewEvent, snapshot: Snapshot): Promise<void>;
};

export async function change<T>(deps: Deps, work: (scope: ChangeScope) => Promise<T>): Promise<T> {
  const recorded: Array<Awaited<ReturnType<typeof recordEvent>>> = [];
  const result = await deps.db.$transaction(async (tx) => {
    let endpoints: ReturnType<typeof endpointsOnce> | undefined;
    return work({
      tx,
      async record(event, snapshot) {
        const row = await recordEvent(tx, event);
        endpoints ??= endpointsOnce(tx, event.teamId);
        await enqueueSideEffects(tx, row, snapshot, endpoints);
        recorded.push(row);
      },
    });
  });
  for (const e of recorded) deps.bus.publish(toBusEvent(e));
  return result;
}
