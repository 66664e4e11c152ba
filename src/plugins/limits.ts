// Limits on what one operation may ask for, and on how much a credential may
// ask for over time. Checked before execution starts.
import { EnvelopArmor } from '@escape.tech/graphql-armor';
import {
  getOperationAST,
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import type { Context } from '../context.js';
import type { LimitOptions } from '../config.js';
import { createLimiter } from '../platform/rate-limits.js';

const DEFAULT_PAGE = 20;

/**
 * Cost of an operation: each object field costs 1, times the page size of every
 * connection above it (first/last, 20 when not given). Scalars are free.
 */
export function operationCost(document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown> = {}): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const fragments = new Map(
    document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
  );
  const pageSize = (field: FieldNode): number | undefined => {
    let size: number | undefined;
    for (const arg of field.arguments ?? []) {
      if (arg.name.value !== 'first' && arg.name.value !== 'last') continue;
      const value = arg.value.kind === Kind.VARIABLE ? variables[arg.value.name.value] : arg.value.kind === Kind.INT ? Number(arg.value.value) : undefined;
      if (typeof value === 'number') size = Math.max(size ?? 0, value);
    }
    return size;
  };
  const seen = new Set<string>();
  const walk = (set: SelectionSetNode | undefined, multiplier: number): number => {
    let cost = 0;
    for (const selection of set?.selections ?? []) {
      if (selection.kind === Kind.FIELD) {
        if (!selection.selectionSet) continue;
        const isConnection = selection.arguments?.some((a) => ['first', 'last', 'after', 'before'].includes(a.name.value)) || /Connection$/.test(selection.name.value);
        const size = pageSize(selection) ?? (isConnection ? DEFAULT_PAGE : 1);
        cost += multiplier + walk(selection.selectionSet, multiplier * size);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        cost += walk(selection.selectionSet, multiplier);
      } else if (!seen.has(selection.name.value)) {
        seen.add(selection.name.value);
        cost += walk(fragments.get(selection.name.value)?.selectionSet, multiplier);
        seen.delete(selection.name.value);
      }
    }
    return cost;
  };
  return Math.max(1, walk(operation.selectionSet, 1));
}

function tooCostly(cost: number, max: number) {
  return new GraphQLError(`Operation cost ${cost} exceeds the limit of ${max}: ask for smaller pages or fewer fields`, {
    extensions: { code: 'QUERY_TOO_COMPLEX', cost, maxCost: max },
  });
}

/** graphql-armor's limits, the cost limit and budget, and the introspection switch. */
export function limitPlugins(options: LimitOptions, redis?: Redis): Plugin[] {
  const budget = createLimiter({ name: 'cost', points: options.budget, durationSeconds: options.budgetWindowSeconds, redis });
  const armor = new EnvelopArmor({
    maxDepth: { n: options.maxDepth, ignoreIntrospection: true, flattenFragments: true },
    maxAliases: { n: options.maxAliases },
    maxTokens: { n: options.maxTokens },
    maxDirectives: { n: options.maxDirectives },
    costLimit: { enabled: false },
    blockFieldSuggestion: { enabled: options.hideSuggestions },
  }).protect();

  const costPlugin: Plugin<Context> = {
    async onExecute({ args, setResultAndStopExecution }) {
      const ctx = args.contextValue;
      const cost = operationCost(args.document, args.operationName ?? undefined, args.variableValues ?? {});
      if (cost > options.maxCost) {
        setResultAndStopExecution({ errors: [tooCostly(cost, options.maxCost)] });
        return;
      }
      const key = ctx.viewer.apiKeyId ?? ctx.viewer.agentId ?? ctx.viewer.customerId ?? `ip:${ctx.clientIp}`;
      try {
        const res = await budget.consume(key, cost);
        ctx.rateLimit = { cost, limit: options.budget, remaining: res.remaining, resetAt: res.resetAt };
      } catch (err) {
        // Over budget (RATE_LIMITED), or the budget's store failed: errorMaskingPlugin,
        // which runs before this plugin, masks and logs that one with the request id.
        setResultAndStopExecution({ errors: [err instanceof GraphQLError ? err : new GraphQLError((err as Error).message, { originalError: err as Error })] });
      }
    },
  };

  const introspection: Plugin = {
    onValidate({ addValidationRule }) {
      if (!options.introspection) addValidationRule(NoSchemaIntrospectionCustomRule);
    },
  };
  return [...(armor.plugins as Plugin[]), introspection, costPlugin as Plugin];
}
