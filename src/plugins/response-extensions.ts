// Every GraphQL response: an extensions.code on each error (counted in metrics)
// and extensions.requestId.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { ServerContext } from '../context.js';
import type { Metrics } from '../platform/metrics.js';

/**
 * Every error leaves with an extensions.code: graphql-armor's limit errors get
 * QUERY_TOO_COMPLEX; requests that are not a GraphQL request at all (bad JSON, no
 * query, a mutation over GET, an operationName that names no operation) get yoga's
 * BAD_REQUEST; other syntax errors GRAPHQL_PARSE_FAILED, and what is left are the
 * errors of validation (and of coercing variables): GRAPHQL_VALIDATION_FAILED.
 */
function codeOf(error: { message: string; extensions?: Record<string, unknown> }): string {
  if (/limit of \d+ exceeded/.test(error.message)) return 'QUERY_TOO_COMPLEX';
  const given = error.extensions?.code;
  if (given === 'OPERATION_RESOLUTION_FAILURE') return 'BAD_REQUEST';
  if (typeof given === 'string') return given;
  if (error.message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';
  return 'GRAPHQL_VALIDATION_FAILED';
}

/** yoga answers these without a body; clients get a GraphQL error with a code like every other refusal. */
const EMPTY_REFUSALS: Record<number, string> = {
  406: 'None of the accepted media types can be served: accept application/graphql-response+json, application/json or text/event-stream',
  415: 'Unsupported Content-Type: send application/json (or a GET request with the query in the URL)',
};

/** The error with its extensions.code (see codeOf); transports that bypass yoga's result processing (graphql-ws) use it too. */
export function withErrorCode(e: GraphQLError): GraphQLError {
  const code = codeOf(e);
  if (e.extensions?.code === code) return e;
  return new GraphQLError(e.message, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    originalError: e.originalError,
    extensions: { ...e.extensions, code, ...(code === 'QUERY_TOO_COMPLEX' && { http: { status: 400 } }) },
  });
}

export function responseExtensionsPlugin(metrics: Metrics): Plugin<Record<string, unknown>, ServerContext> {
  const withCodes = <T extends { errors?: readonly GraphQLError[] }>(r: T): T => {
    if (!r.errors?.length) return r;
    const errors = r.errors.map((e) => {
      const coded = withErrorCode(e);
      metrics.errors.inc({ code: coded.extensions.code as string });
      return coded;
    });
    return { ...r, errors };
  };
  return {
    onResultProcess({ result, setResult, serverContext }) {
      if (Array.isArray(result)) result = result.map(withCodes);
      else if (!(Symbol.asyncIterator in result)) result = withCodes(result);
      const add = <T extends { extensions?: Record<string, unknown> }>(r: T): T => ({
        ...r,
        extensions: { ...r.extensions, requestId: serverContext.requestId },
      });
      if (Array.isArray(result)) setResult(result.map(add));
      else if (!(Symbol.asyncIterator in result)) setResult(add(result));
    },
    onResponse({ response, serverContext, setResponse, fetchAPI }) {
      const message = EMPTY_REFUSALS[response.status];
      if (!message || response.body !== null) return;
      metrics.errors.inc({ code: 'BAD_REQUEST' });
      const headers = new fetchAPI.Headers(response.headers);
      headers.set('content-type', 'application/json; charset=utf-8');
      const requestId = serverContext?.requestId;
      const body = { errors: [{ message, extensions: { code: 'BAD_REQUEST' } }], ...(requestId && { extensions: { requestId } }) };
      setResponse(new fetchAPI.Response(JSON.stringify(body), { status: response.status, headers }));
    },
  };
}
