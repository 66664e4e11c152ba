// A subscription lasts no longer than the credential that opened it: when a token
// expires, every stream it opened (events, a ticket, presence, a bulk job's progress;
// over graphql-ws and SSE alike) sends UNAUTHENTICATED and ends, and the client
// subscribes again with a fresh token. One place for all subscriptions, so a new one
// cannot forget it.
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';
import { ClientError } from '../errors.js';

/** Resolves when `at` has passed; timers hold at most 2^31 - 1 ms, so a later time is waited for in steps. */
function passed(at: number): { promise: Promise<void>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    const arm = () => {
      const wait = at - Date.now();
      if (wait <= 0) return resolve();
      timer = setTimeout(arm, Math.min(wait, 2 ** 31 - 1));
      timer.unref();
    };
    arm();
  });
  return { promise, cancel: () => clearTimeout(timer) };
}

/** The stream's results until `expiresAt`; then the UNAUTHENTICATED result, and the end of the stream. */
function untilExpiry(results: AsyncIterable<ExecutionResult>, expiresAt: Date): AsyncIterableIterator<ExecutionResult> {
  const source = results[Symbol.asyncIterator]();
  const expiry = passed(expiresAt.getTime());
  const expired = expiry.promise.then(() => 'expired' as const);
  let state: 'open' | 'telling' | 'ended' = 'open';
  const end = async (): Promise<IteratorResult<ExecutionResult>> => {
    state = 'ended';
    expiry.cancel();
    await source.return?.();
    return { done: true, value: undefined };
  };
  return {
    [Symbol.asyncIterator]() {
      return this;
    },
    async next() {
      if (state === 'ended') return { done: true, value: undefined };
      if (state === 'telling') return end();
      const next = await Promise.race([source.next(), expired]);
      if (next !== 'expired') {
        if (next.done) await end();
        return next;
      }
      state = 'telling';
      // Not awaited: the error goes out now, whatever the stream underneath is waiting for.
      void source.return?.();
      return { done: false, value: { errors: [new ClientError('UNAUTHENTICATED', 'The credential expired: subscribe again with a new one')] } };
    },
    return: end,
    async throw(err: unknown) {
      await end();
      throw err;
    },
  };
}

export function credentialExpiryPlugin(): Plugin<Context> {
  return {
    onSubscribe({ args }) {
      const { expiresAt } = (args.contextValue as Context).viewer;
      if (!expiresAt) return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (isAsyncIterable(result)) setResult(untilExpiry(result, expiresAt));
        },
      };
    },
  };
}
