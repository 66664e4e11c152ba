// A real graphql-ws client and an SSE reader, collecting what a subscriber receives.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export type Received = { data?: Record<string, any> | null; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };

export type LiveSubscription = {
  received: Received[];
  /** Resolves when the server completes the subscription. */
  completed: Promise<void>;
  /** Waits until at least `count` results arrived (or fails after `timeoutMs`). */
  waitFor(count: number, timeoutMs?: number): Promise<Received[]>;
  stop(): void;
};

const leftovers: Array<() => void> = [];

/** Disposes every client and subscription the tests opened. */
export function disposeLive() {
  for (const dispose of leftovers.splice(0)) dispose();
}

async function waitUntil(check: () => boolean, timeoutMs: number, what: () => string) {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function waiterFor(received: Received[]): LiveSubscription['waitFor'] {
  return async (count, timeoutMs = 10_000) => {
    await waitUntil(() => received.length >= count, timeoutMs, () => `${count} results, got ${JSON.stringify(received)}`);
    return received;
  };
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
  leftovers.push(() => void client.dispose());
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

/** A subscription, stopped by the leftovers cleanup if the test does not stop it. */
function tracked(received: Received[], completed: Promise<void>, stop: () => void): LiveSubscription {
  leftovers.push(stop);
  return { received, completed, stop, waitFor: waiterFor(received) };
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
