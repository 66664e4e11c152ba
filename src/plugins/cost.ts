// The cost of an operation, from the schema's types (graphql-query-complexity walks
// the document with the schema, fragments, variables, @skip/@include):
// each object field costs 1, scalars are free, and a field's selection counts once
// per object it can return — a connection's page size (first/last, 20 when not
// given), the number of IDs given to nodes(ids:), 20 for any other list.
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
import { LRUCache } from 'lru-cache';
import {
  getNamedType,
  getNullableType,
  isCompositeType,
  isListType,
  isObjectType,
  type DocumentNode,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { badInput } from '../errors.js';

export const DEFAULT_PAGE = 20;
/** Most IDs one nodes(ids:) may ask for. */
export const MAX_NODE_IDS = 100;

/** A Relay connection: an object with edges and pageInfo. */
function isConnection(type: GraphQLOutputType): boolean {
  const named = getNullableType(type);
  if (!isObjectType(named)) return false;
  const fields = named.getFields();
  return 'edges' in fields && 'pageInfo' in fields;
}

const pageSize = (args: Record<string, unknown>): number => {
  const sizes = [args.first, args.last].filter((n): n is number => typeof n === 'number');
  return sizes.length ? Math.max(0, ...sizes) : DEFAULT_PAGE;
};

const estimator: ComplexityEstimator = ({ field, args, childComplexity, type }) => {
  if (!isCompositeType(getNamedType(field.type))) return 0;
  if (isConnection(field.type)) return 1 + pageSize(args) * childComplexity;
  if (Array.isArray(args.ids) && field.name === 'nodes' && type.name === 'Query') {
    if (args.ids.length > MAX_NODE_IDS) {
      throw badInput([{ path: 'ids', message: `at most ${MAX_NODE_IDS} IDs per request` }]);
    }
    return 1 + args.ids.length * childComplexity;
  }
  // A connection's edges are bounded by the connection's page size, counted above.
  if (isListType(getNullableType(field.type)) && field.name !== 'edges') return 1 + DEFAULT_PAGE * childComplexity;
  return 1 + childComplexity;
};

/** The variables as far as a cost can depend on them: numbers, booleans, nulls, lists' lengths; never a string's content. */
function costShape(value: unknown): unknown {
  if (typeof value === 'string') return '';
  if (Array.isArray(value)) return value.map(costShape);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, costShape(v)]));
  return value;
}

// Walking the document costs about as much as the rest of a small request's own
// plugins together, and clients send the same few documents with different IDs: a
// document's costs are kept by operation and variables' cost shape. (yoga's parser
// cache hands out one DocumentNode per distinct document.) Only costs are kept, never
// a refusal, so a refused operation is priced, and refused, every time.
const costs = new WeakMap<GraphQLSchema, WeakMap<DocumentNode, LRUCache<string, number>>>();

export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> = {},
): number {
  let documents = costs.get(schema);
  if (!documents) costs.set(schema, (documents = new WeakMap()));
  let known = documents.get(document);
  if (!known) documents.set(document, (known = new LRUCache({ max: 64 })));
  const key = `${operationName ?? ''} ${JSON.stringify(costShape(variables))}`;
  let cost = known.get(key);
  if (cost === undefined) {
    cost = Math.max(1, getComplexity({ schema, query: document, operationName, variables, estimators: [estimator] }));
    known.set(key, cost);
  }
  return cost;
}
