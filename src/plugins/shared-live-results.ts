// Shared execution of live results: subscribers who see alike share one run of
// their operation per live event, and over WebSockets one serialisation and one
// write loop too (live/direct.ts).
import { createSourceEventStream, execute, print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { isAsyncIterable, mapAsyncIterator, type Plugin } from 'graphql-yoga';
import { visibilityKey } from '../auth/visibility.js';
import type { Context } from '../context.js';
import { LaneGroup } from '../live/direct.js';
import type { Logger } from '../logger.js';

/**
 * One execution per live event for all the subscribers of a process that asked the
 * same (document, operation name, variables) and see alike (visibilityKey): each gets
 * the shared result. Without it, a thousand agents' consoles on one operation run the
 * same resolvers and queries a thousand times per event. Events read from the log
 * (catch-up, gaps) are each subscriber's own objects and run on their own.
 *
 * Subscribers over WebSockets (the context has `sendNext`) also form a group of the
 * direct lane under the same key, which their live streams join (live/streams.ts).
 */
export function sharedLiveResults(log: Logger): Plugin {
  const sources = new WeakMap<DocumentNode, string>();
  const results = new WeakMap<object, Map<string, ReturnType<typeof execute>>>();
  const groups = new Map<string, LaneGroup>();
  function keyOf(args: ExecutionArgs): string {
    let source = sources.get(args.document);
    if (source === undefined) sources.set(args.document, (source = print(args.document)));
    const { viewer } = args.contextValue as Context;
    return JSON.stringify([source, args.operationName ?? null, args.variableValues ?? {}, visibilityKey(viewer)]);
  }
  function resultOf(args: ExecutionArgs, key: string, event: object): ReturnType<typeof execute> {
    let byKey = results.get(event);
    if (!byKey) results.set(event, (byKey = new Map()));
    let result = byKey.get(key);
    if (!result) byKey.set(key, (result = execute({ ...args, rootValue: event })));
    return result;
  }
  return {
    onSubscribe({ setSubscribeFn }) {
      setSubscribeFn((async (args: ExecutionArgs) => {
        const context = args.contextValue as Context;
        const key = keyOf(args);
        const send = context.sendNext;
        if (send) {
          context.directLane = () => {
            let group = groups.get(key);
            if (!group) {
              const created = new LaneGroup(
                () => groups.get(key) === created && groups.delete(key),
                (err) => log.error({ err }, 'direct delivery of a live event failed: handed back to its subscribers'),
              );
              groups.set(key, (group = created));
            }
            return group.join({ execute: (event) => resultOf(args, key, event), send, budget: context.eventBudget });
          };
        }
        const stream = await createSourceEventStream(args);
        if (!isAsyncIterable(stream)) return stream as ExecutionResult;
        return mapAsyncIterator(stream, (event: unknown) =>
          typeof event === 'object' && event !== null ? resultOf(args, key, event) : execute({ ...args, rootValue: event }),
        );
      }) as never);
    },
  };
}
