// A real graphql-ws client and an SSE reader, collecting what a subscriber receives;
// and waits for what a test needs before it acts: subscriptions that listen, and
// results that prove nothing before them is still on its way.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { testApp } from './app.js';
import { leftover } from './leftovers.js';
import { eventually } from './wait.js';

export type Received = { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

export type LiveSubscription = {
  received: Received[];
  /** Resolves when the server completes the subscription. */
  completed: Promise<void>;
  /** Waits until at least `count` results arrived (or fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  /**
   * Waits for the first result `isMarker` accepts and returns the results before it.
   * Live events arrive in the order of the team's log, so once a marker made after the
   * events under test is here, none of those events is still on its way: what came
   * before it is all that will come.
   */
  before(isMarker: (result: Received) => boolean, timeoutMs?: number): Promise<Received[]>;
  stop(): void;
};

const live = new Set<() => void>();

/** Disposes every client and subscription the tests opened so far (they are disposed at the end of the file anyway). */
export function disposeLive() {
  for (const dispose of [...live]) dispose();
}

/** Disposed by disposeLive() or at the end of the file, whichever comes first. */
function track(what: string, dispose: () => void) {
  const once = () => {
    if (!live.delete(once)) return;
    dispose();
  };
  live.add(once);
  leftover(what, once);
}

function waiters(received: Received[]): Pick<LiveSubscription, 'waitFor' | 'before'> {
  return {
    async waitFor(count, timeoutMs = 30_000) {
      await eventually(() => received.length >= count, { timeoutMs, what: () => `${count} results, got ${JSON.stringify(received)}` });
      return received;
    },
    async before(isMarker, timeoutMs = 30_000) {
      const at = await eventually(() => received.findIndex(isMarker) + 1, { timeoutMs, what: () => `the marker result, got ${JSON.stringify(received)}` });
      return received.slice(0, at - 1);
    },
  };
}

/**
 * Waits until `count` live subscriptions of the team (its UUID) on this file's app
 * listen: each has read where in the log it starts, so every event committed from now
 * on reaches it.
 */
export async function listening(teamId: string, count: number, timeoutMs = 30_000): Promise<void> {
  const { bus } = testApp();
  await eventually(() => bus.listening(teamId) >= count, {
    timeoutMs,
    what: () => `${count} subscriptions of team ${teamId} to listen, ${bus.listening(teamId)} do`,
  });
}

/**
 * Waits until the server process at `base` (one the test cannot look into) has at least
 * `count` live subscriptions open and no database query in flight: a subscription counts
 * as open just before it reads where in the log it starts, and that read is sent at once
 * (the server's Prisma client is warm from its start-up check), so an idle pool means the
 * read has come back.
 */
export async function listeningOn(base: string, count: number, timeoutMs = 30_000): Promise<void> {
  let last = '';
  await eventually(
    async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const gauge = (pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? NaN);
      const open = gauge(/^ticketql_subscriptions_open (\d+)/m);
      const total = gauge(/^ticketql_db_pool_connections\{state="total"\} (\d+)/m);
      const idle = gauge(/^ticketql_db_pool_connections\{state="idle"\} (\d+)/m);
      const waiting = gauge(/^ticketql_db_pool_connections\{state="waiting"\} (\d+)/m);
      last = `${open} open, pool ${total} total / ${idle} idle / ${waiting} waiting`;
      return open >= count && total === idle && waiting === 0;
    },
    { timeoutMs, what: () => `${count} subscriptions listening on ${base} (${last})` },
  );
}

export function wsClient(baseUrl: string, authorization?: string): Client & { closed: Promise<{ code: number; reason: string }> } {
  let onClosed!: (event: { code: number; reason: string }) => void;
  const closed = new Promise<{ code: number; reason: string }>((resolve) => (onClosed = resolve));
  const client = createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: authorization ? { authorization: `Bearer ${authorization}` } : {},
    retryAttempts: 0,
    lazy: false,
    on: { closed: (event) => onClosed(event as { code: number; reason: string }) },
    onNonLazyError: () => {},
  });
  track('a graphql-ws client', () => void client.dispose());
  return Object.assign(client, { closed });
}

export function subscribe(client: Client, query: string, variables: Record<string, unknown> = {}): LiveSubscription {
  const received: Received[] = [];
  let done!: () => void;
  const completed = new Promise<void>((resolve) => (done = resolve));
  const stop = client.subscribe(
    { query, variables },
    {
      next: (result) => void received.push(result as Received),
      error: (error) => {
        received.push({ errors: Array.isArray(error) ? error : [{ message: String((error as Error)?.message ?? (error as { reason?: string })?.reason ?? error) }] });
        done();
      },
      complete: () => done(),
    },
  );
  return tracked(received, completed, stop);
}

/** A subscription, stopped at the end of the file if the test does not stop it. */
function tracked(received: Received[], completed: Promise<void>, stop: () => void): LiveSubscription {
  track('a subscription', stop);
  return { received, completed, stop, ...waiters(received) };
}

/** A subscription over server-sent events (yoga's GraphQL over SSE). */
export function subscribeSse(baseUrl: string, authorization: string, query: string, variables: Record<string, unknown> = {}): LiveSubscription {
  const received: Received[] = [];
  const controller = new AbortController();
  let done!: () => void;
  const completed = new Promise<void>((resolve) => (done = resolve));
  void (async () => {
    try {
      const res = await fetch(`${baseUrl}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${authorization}` },
        body: JSON.stringify({ query, variables }),
        signal: controller.signal,
      });
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (event === 'complete') return done();
          if (data) received.push(JSON.parse(data) as Received);
        }
      }
    } catch {
      // aborted
    } finally {
      done();
    }
  })();
  const stop = () => controller.abort();
  return tracked(received, completed, stop);
}
