// docs/examples/live-console.mjs: follows a team's ticket events over graphql-ws, in
// Node or a browser, and catches up after every reconnect: each event reaches
// onEvent exactly once, in the order of the team's event log.
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
