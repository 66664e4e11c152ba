// Limits on what one operation may ask for, and on how much a credential may
// ask for over time. Checked before execution starts.
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ExecutionArgs } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Context } from '../context.js';
import type { LimitOptions } from '../config.js';
import { ClientError } from '../errors.js';
import type { Logger } from '../logger.js';
import { createLimiter } from '../platform/rate-limits.js';
import { operationCost } from './cost.js';
import type { EventBudget } from '../live/direct.js';
import { maskError } from './error-masking.js';

function tooCostly(cost: number, max: number) {
  return new GraphQLError(`Operation cost ${cost} exceeds the limit of ${max}: ask for smaller pages or fewer fields`, {
    extensions: { code: 'QUERY_TOO_COMPLEX', cost, maxCost: max },
  });
}

/** graphql-armor's limits, the cost limit and budget, and the introspection switch. */
export function limitPlugins(
  options: LimitOptions & { maxSubscriptionsPerCredential: number },
  log: Logger,
  redis?: Redis,
): Plugin[] {
  const budget = createLimiter({ name: 'cost', points: options.budget, durationSeconds: options.budgetWindowSeconds, redis });
  const armor = new EnvelopArmor({
    maxDepth: { n: options.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: options.maxAliases },
    maxTokens: { n: options.maxTokens },
    maxDirectives: { n: options.maxDirectives },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: options.hideSuggestions },
  }).protect();

  const subscriptions = new Map<string, number>();
  const key = (ctx: Context) => ctx.viewer.apiKeyId ?? ctx.viewer.agentId ?? ctx.viewer.customerId ?? `ip:${ctx.clientIp}`;
  /** Spends `cost` of the caller's budget; the error to answer with when it cannot. */
  const spend = async (ctx: Context, cost: number): Promise<GraphQLError | undefined> => {
    try {
      const res = await budget.consume(key(ctx), cost);
      ctx.rateLimit = { cost, limit: options.budget, remaining: res.remaining, resetAt: res.resetAt };
      return undefined;
    } catch (err) {
      // Over budget (RATE_LIMITED), or the budget's store failed: errorMaskingPlugin,
      // which runs before this plugin, masks and logs that one with the request id.
      return err instanceof GraphQLError ? err : new GraphQLError((err as Error).message, { originalError: err as Error });
    }
  };
  /** The operation's cost, or the error that refuses it (too costly, bad arguments). */
  const price = (args: ExecutionArgs): number | GraphQLError => {
    try {
      const cost = operationCost(args.schema, args.document, args.operationName ?? undefined, args.variableValues ?? {});
      return cost > options.maxCost ? tooCostly(cost, options.maxCost) : cost;
    } catch (err) {
      if (err instanceof GraphQLError) return err;
      throw err;
    }
  };

  const costPlugin: Plugin<Context> = {
    async onExecute({ args, setResultAndStopExecution }) {
      const cost = price(args);
      const refused = typeof cost === 'number' ? await spend(args.contextValue, cost) : cost;
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
    // A subscription is priced when it starts, and each event it delivers spends the
    // same cost again: a subscriber out of budget gets RATE_LIMITED and its stream ends.
    async onSubscribe({ args, setResultAndStopExecution }) {
      const cost = price(args);
      const refused = typeof cost === 'number' ? await spend(args.contextValue, cost) : cost;
      if (refused) {
        setResultAndStopExecution({ errors: [refused] });
        return;
      }
      // Open subscriptions per credential on this process, over SSE and graphql-ws alike.
      const credential = key(args.contextValue);
      const open = subscriptions.get(credential) ?? 0;
      if (open >= options.maxSubscriptionsPerCredential) {
        setResultAndStopExecution({
          errors: [new ClientError('RATE_LIMITED', `At most ${options.maxSubscriptionsPerCredential} subscriptions per credential`)],
        });
        return;
      }
      subscriptions.set(credential, open + 1);
      // The direct lane pays for the events it sends itself, one spend per credential and event (live/direct.ts).
      const eventBudget: EventBudget = {
        key: credential,
        spend: (count) => budget.consumeEach(credential, cost as number, count),
        prepaid: new WeakSet(),
      };
      args.contextValue.eventBudget = eventBudget;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        const left = (subscriptions.get(credential) ?? 1) - 1;
        if (left > 0) subscriptions.set(credential, left);
        else subscriptions.delete(credential);
      };
      return {
        // Each event is paid for before it is delivered. The first that cannot be is
        // delivered as the refusal instead, and the stream ends. A hook on envelop's one
        // mapping of every event, rather than a wrapper of the stream: at a thousand
        // subscribers per event, each layer of promises per delivery costs more CPU than
        // the spend itself (BENCHMARKS.md, S1).
        onSubscribeResult({ result }) {
          if (!isAsyncIterable(result)) {
            release();
            return;
          }
          const stream = result as AsyncIterable<unknown> & { return?: () => Promise<unknown> };
          return {
            onNext: ({ result: event, setResult }) => {
              // An event the direct lane paid for and handed back (live/direct.ts) is not paid twice.
              if (eventBudget.prepaid.delete(event)) return;
              return budget.consume(credential, cost as number).then(
                () => undefined,
                (err: unknown) => {
                  // errorMaskingPlugin's hook on this event has run already: a failed store is masked here.
                  setResult({ errors: [maskError(err, args.contextValue.requestId, log)] });
                  // The stream under the refusal ends before the refusal goes out, so that the
                  // client's next read finds it done (a stream's return() may have to wait, e.g.
                  // for presence to be left, and meanwhile it could still yield).
                  return Promise.resolve(stream.return?.()).then(
                    () => undefined,
                    (failed: unknown) =>
                      void log.warn({ err: (failed as Error).message, requestId: args.contextValue.requestId }, 'refused subscription did not end cleanly'),
                  );
                },
              );
            },
            onEnd: release,
          };
        },
        // A stream that fails (a slow consumer's) ends without onEnd.
        onSubscribeError: release,
      };
    },
  };

  const introspection: Plugin = {
    onValidate({ addValidationRule }) {
      if (!options.introspection) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
  return [...(armor.plugins as Plugin[]), introspection, costPlugin as Plugin];
}
