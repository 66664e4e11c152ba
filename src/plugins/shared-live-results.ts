// Shared execution of live results: subscribers who see alike share one run of
// their operation per live event.
import { createSourceEventStream, execute, print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import { visibilityKey } from '../auth/visibility.js';
import type { Context } from '../context.js';

/**
 * One execution per live event for all the subscribers of a process that asked the
 * same (document, operation name, variables) and see alike (visibilityKey): each gets
 * the shared result. Without it, a thousand agents' consoles on one operation run the
 * same resolvers and queries a thousand times per event. Events read from the log
 * (catch-up, gaps) are each subscriber's own objects and run on their own.
 */
export function sharedLiveResults(): Plugin {
  const sources = new WeakMap<DocumentNode, string>();
  const results = new WeakMap<object, Map<string, ReturnType<typeof execute>>>();
  function keyOf(args: ExecutionArgs): string {
    let source = sources.get(args.document);
    if (source === undefined) sources.set(args.document, (source = print(args.document)));
    const { viewer } = args.contextValue as Context;
    return JSON.stringify([source, args.operationName ?? null, args.variableValues ?? {}, visibilityKey(viewer)]);
  }
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn((async (args: ExecutionArgs) => {
        const stream = await createSourceEventStream(args);
        if (!isAsyncIterable(stream)) return stream as ExecutionResult;
        const key = keyOf(args);
        return mapAsyncIterator(stream, (event: unknown) => {
          if (typeof event !== 'object' || event === null) return execute({ ...args, rootValue: event });
          let byKey = results.get(event);
          if (!byKey) results.set(event, (byKey = new Map()));
          let result = byKey.get(key);
          if (!result) byKey.set(key, (result = execute({ ...args, rootValue: event })));
          return result;
        });
      }) as never);
    },
  };
}
