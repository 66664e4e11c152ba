// The test app's in-process event bus, which also tells when a live subscription
// listens: a subscription asks its bus for the next event only once it has read
// where in the log it starts, so from then on every event committed reaches it.
// A test waits for that instead of sleeping after it subscribes.
import type { EventBus, Subscription } from '../../src/live/bus.js';

export type ObservedBus = EventBus & {
  /** Subscriptions of the team (its UUID) that wait for live events. */
  listening(teamId: string): number;
};

export function observedBus(inner: EventBus): ObservedBus {
  const counts = new Map<string, number>();
  const add = (teamId: string, n: number) => counts.set(teamId, (counts.get(teamId) ?? 0) + n);
  return {
    publish: (event) => inner.publish(event),
    presence: (teamId, ticketId) => inner.presence(teamId, ticketId),
    bulkJob: (teamId, bulkJobId) => inner.bulkJob(teamId, bulkJobId),
    onCredentialChange: (listener) => inner.onCredentialChange(listener),
    listening: (teamId) => counts.get(teamId) ?? 0,
    subscribe(teamId, maxQueued) {
      const subscription = inner.subscribe(teamId, maxQueued);
      let state: 'starting' | 'listening' | 'ended' = 'starting';
      const end = () => {
        if (state === 'listening') add(teamId, -1);
        state = 'ended';
      };
      const observed: Subscription = {
        ready: subscription.ready,
        intercept: (take) => subscription.intercept(take),
        async next() {
          if (state === 'starting') {
            state = 'listening';
            add(teamId, 1);
          }
          try {
            const result = await subscription.next();
            if (result.done) end();
            return result;
          } catch (err) {
            end();
            throw err;
          }
        },
        async return() {
          end();
          return subscription.return();
        },
        [Symbol.asyncIterator]() {
          return observed;
        },
      };
      return observed;
    },
  };
}
