// docs/examples/live-console.mjs: an agent console over graphql-ws, in Node or a
// browser. followTicketEvents follows the team's ticket events and catches up after
// every reconnect: each event reaches onEvent exactly once, in the order of the
// team's event log. reconciler() tells when the feed has caught up with the console's
// own write (the mutation's `cursor`); keepPresence() sends presence heartbeats for
// the open ticket and follows who else is on it.
import { createClient } from 'graphql-ws';

const TICKET_EVENTS = `
  subscription TicketEvents($after: String) {
    ticketEvents(after: $after) {
      cursor
      type
      ticketId
      changedFields
      ticket { number title status }
    }
  }`;

/**
 * Calls onEvent for each event after the cursor `after` (without it: from now on).
 * Keep the cursor of the last event handled, and pass it as `after` next time to
 * resume where you left off. Other options go to graphql-ws's createClient (in
 * Node: `webSocketImpl`). Returns a function that stops.
 */
export function followTicketEvents({ url, credential, after, onEvent, onError = console.error, ...clientOptions }) {
  let last = after;
  let client;

  function start() {
    client = createClient({
      url,
      connectionParams: { authorization: `Bearer ${credential}` },
      retryAttempts: Infinity,
      // Also after network errors (graphql-ws retries only after close events by
      // default), but not with a credential the server refused (4403).
      shouldRetry: (closeOrError) => closeOrError?.code !== 4403,
      retryWait: (retries) => new Promise((resolve) => setTimeout(resolve, Math.min(30_000, 500 * 2 ** retries) * (0.5 + Math.random()))),
      ...clientOptions,
    });
    // graphql-ws sends this very object again on each reconnect: with `after` kept
    // at the last event handled, the new subscription starts right after it.
    const request = { query: TICKET_EVENTS, variables: { after: last } };
    client.subscribe(request, {
      next({ data, errors }) {
        if (errors) return onError(errors);
        const event = data.ticketEvents;
        // Whatever the server replays, an event handled before is not handled again.
        if (last !== undefined && BigInt(event.cursor) <= BigInt(last)) return;
        last = request.variables.after = event.cursor;
        onEvent(event);
      },
      error(error) {
        // 1008: the server dropped this subscriber for falling behind; start over
        // from the last event handled. graphql-ws does not retry this code itself.
        if (error?.code === 1008) {
          void client.dispose();
          return start();
        }
        onError(error);
      },
      // The server ends the subscription when the credential is revoked or its
      // agent, customer or team deleted.
      complete() {},
    });
  }

  start();
  return () => void client.dispose();
}

/**
 * Optimistic updates, reconciled by cursor. Feed it each event's cursor (`seen`);
 * `settled(cursor)` — the `cursor` of a mutation's payload — resolves once the feed
 * has delivered that event, when the console drops its optimistic copy and shows the
 * server's. A mutation that recorded no event (cursor null) is settled at once.
 */
export function reconciler() {
  let last = -1n;
  const waiting = new Set();
  return {
    seen(cursor) {
      last = BigInt(cursor);
      for (const w of waiting) {
        if (w.cursor <= last) {
          waiting.delete(w);
          w.resolve();
        }
      }
    },
    settled(cursor) {
      if (cursor == null || BigInt(cursor) <= last) return Promise.resolve();
      return new Promise((resolve) => waiting.add({ cursor: BigInt(cursor), resolve }));
    },
  };
}

const SET_PRESENCE = `
  mutation SetPresence($input: SetPresenceInput!) {
    setPresence(input: $input) { stored }
  }`;

const TICKET_PRESENCE = `
  subscription TicketPresence($ticketId: ID!) {
    ticketPresence(ticketId: $ticketId) {
      entries { kind state name participantId }
    }
  }`;

/**
 * While a ticket is open: a heartbeat (setPresence) every `intervalMs` and at once on
 * each change of state (`set('TYPING')`, `set('COMPOSING_NOTE')`, `set('VIEWING')`,
 * `set('IDLE')`), and onPresence(entries) each time who is on the ticket changes.
 * Heartbeats and the subscription share one socket: when it closes (stop(), a closed
 * tab, a lost network) the server clears this console's entry at once. Keep
 * `intervalMs` well under the server's PRESENCE_TTL_MS (30 s by default).
 */
export function keepPresence({ url, credential, ticketId, onPresence, onError = console.error, intervalMs = 10_000, ...clientOptions }) {
  const client = createClient({
    url,
    connectionParams: { authorization: `Bearer ${credential}` },
    retryAttempts: Infinity,
    shouldRetry: (closeOrError) => closeOrError?.code !== 4403,
    ...clientOptions,
  });
  let state = 'VIEWING';
  const beat = () =>
    client.subscribe(
      { query: SET_PRESENCE, variables: { input: { ticketId, state } } },
      { next: ({ errors }) => errors && onError(errors), error: onError, complete() {} },
    );
  client.subscribe(
    { query: TICKET_PRESENCE, variables: { ticketId } },
    { next: ({ data, errors }) => (errors ? onError(errors) : onPresence(data.ticketPresence.entries)), error: onError, complete() {} },
  );
  // After a reconnect the entry is gone until the next heartbeat: send one at once.
  client.on('connected', beat);
  const timer = setInterval(beat, intervalMs);
  return {
    set(next) {
      if (next === state) return;
      state = next;
      beat();
    },
    stop() {
      clearInterval(timer);
      void client.dispose();
    },
  };
}
