// Clients that behave as a careful integration does when servers fail: a mutation is
// sent again with the same Idempotency-Key, to the next server, until it gets an
// answer; a subscriber whose stream ends resubscribes with `after` (the cursor of the
// last event it saw) on whichever server takes it.
import { randomUUID } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { leftover } from './leftovers.js';

type GraphQLError = { message: string; extensions?: { code?: string } };

export type Answer = {
  key: string;
  /** The answer's data, or the errors of an answer that was not one to retry. */
  data?: Record<string, any>;
  errors?: GraphQLError[];
  /** The server said it replayed the first answer (its Idempotent-Replayed header). */
  replayed: boolean;
  /** Requests sent, the answered one included. */
  attempts: number;
  /** Why each attempt before the answer was not one (a connection error, a code). */
  retriedFor: string[];
  sentAt: number;
  answeredAt: number;
};

/** Not an answer to the mutation: nothing was done, or what was done is not known yet. */
function retryable(errors: GraphQLError[] | undefined): string | undefined {
  for (const e of errors ?? []) {
    const code = e.extensions?.code;
    if (code === 'SERVICE_UNAVAILABLE' || code === 'INTERNAL_SERVER_ERROR') return code;
    if (code === 'CONFLICT' && /still in progress/.test(e.message)) return 'CONFLICT (in progress)';
  }
  return undefined;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Sends the mutation to `bases()[0]` first and, after a connection error or a retryable
 * answer, to the next, with the same Idempotency-Key, until an answer comes or
 * `giveUpMs` passes (then it returns the last error as its errors).
 */
export async function untilAnswered(
  bases: () => string[],
  credential: string,
  body: { query: string; variables?: Record<string, unknown> },
  options: { giveUpMs?: number; key?: string; onRetry?: (why: string) => void } = {},
): Promise<Answer> {
  const key = options.key ?? randomUUID();
  const sentAt = Date.now();
  const giveUpAt = sentAt + (options.giveUpMs ?? 120_000);
  const retriedFor: string[] = [];
  for (let attempt = 0; ; attempt++) {
    const list = bases();
    const base = list[attempt % list.length]!;
    let why: string;
    try {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}`, 'idempotency-key': key },
        body: JSON.stringify(body),
      });
      const json = (await res.json()) as { data?: Record<string, any> | null; errors?: GraphQLError[] };
      const retry = retryable(json.errors);
      if (!retry) {
        return {
          key,
          data: json.data ?? undefined,
          errors: json.errors,
          replayed: res.headers.get('idempotent-replayed') === 'true',
          attempts: attempt + 1,
          retriedFor,
          sentAt,
          answeredAt: Date.now(),
        };
      }
      why = retry;
    } catch (err) {
      why = `${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message} from ${base}`;
    }
    retriedFor.push(why);
    options.onRetry?.(why);
    if (Date.now() > giveUpAt) {
      return { key, errors: [{ message: `no answer after ${attempt + 1} attempts: ${retriedFor.join(', ')}` }], replayed: false, attempts: attempt + 1, retriedFor, sentAt, answeredAt: Date.now() };
    }
    // A client's back-off, so that a server that is down is not flooded.
    await pause(Math.min(50 * 2 ** Math.min(attempt, 4), 500));
  }
}

export type Resubscriber = {
  /** Cursors of the events received, in the order they came. */
  cursors: string[];
  /** Errors the streams ended with, and how often the subscriber subscribed again. */
  errors: string[];
  resubscriptions: number;
  stop(): void;
};

/**
 * `ticketEvents(after:)` over graphql-ws: from `after` "0" first, then, whenever the
 * stream ends (the server went away, a fault ended it), again on the next server with
 * the last cursor it saw.
 */
export function resubscribing(bases: () => string[], credential: string, first = 0): Resubscriber {
  const state: Resubscriber = { cursors: [], errors: [], resubscriptions: 0, stop: () => {} };
  let stopped = false;
  let current: (() => void) | undefined;
  void (async () => {
    for (let turn = first; !stopped; turn++) {
      const list = bases();
      const base = list[turn % list.length]!;
      const after = state.cursors.at(-1) ?? '0';
      await new Promise<void>((resolve) => {
        const client = createClient({
          url: `${base.replace(/^http/, 'ws')}/graphql`,
          webSocketImpl: WebSocket,
          connectionParams: { authorization: `Bearer ${credential}` },
          retryAttempts: 0,
          lazy: true,
          onNonLazyError: () => {},
        });
        const done = () => {
          current = undefined;
          // dispose() awaits the connection attempt, so it rejects when that attempt
          // failed (the server was down): the error has been counted already.
          void Promise.resolve(client.dispose()).catch(() => {});
          resolve();
        };
        const unsubscribe = client.subscribe<{ ticketEvents: { cursor: string } }>(
          { query: 'subscription($after: String) { ticketEvents(after: $after) { cursor } }', variables: { after } },
          {
            next: (result) => {
              if (result.errors?.length) state.errors.push(result.errors.map((e) => e.message).join('; '));
              if (result.data) state.cursors.push(result.data.ticketEvents.cursor);
            },
            error: (err) => {
              state.errors.push(String((err as Error)?.message ?? (err as { reason?: string })?.reason ?? (err as { code?: number })?.code ?? err));
              done();
            },
            complete: done,
          },
        );
        current = () => {
          unsubscribe();
          done();
        };
      });
      if (stopped) return;
      state.resubscriptions++;
      await pause(200);
    }
  })();
  state.stop = () => {
    stopped = true;
    current?.();
  };
  leftover('a resubscribing subscriber', () => state.stop());
  return state;
}
