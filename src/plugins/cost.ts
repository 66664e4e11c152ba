// The cost of an operation, from the schema's types (graphql-query-complexity walks
// the document with the schema, fragments, variables, @skip/@include):
// each object field costs 1, scalars are free, and a field's selection counts once
// per object it can return — a connection's page size (first/last, 20 when not
// given), the number of IDs given to nodes(ids:), 20 for any other list.
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';
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

export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | undefined,
  variables: Record<string, unknown> = {},
): number {
  return Math.max(1, getComplexity({ schema, query: document, operationName, variables, estimators: [estimator] }));
}
