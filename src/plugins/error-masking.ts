// What clients see of an error: known errors keep their code; anything
// unexpected becomes INTERNAL_SERVER_ERROR with the request id, logged in full.
import { GraphQLError, type ExecutionResult } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { PothosValidationError } from '@pothos/core';
import type { Logger } from '../logger.js';

// Connection failures of the database (driver codes, Prisma's P1001/P1017): the
// client gets SERVICE_UNAVAILABLE (503) and retries; the pool reconnects by itself.
// A pg client whose connection broke says it "is not queryable" to every later query.
const DB_DOWN = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|57P01|57P03|P1001|P1017|Connection terminated|Can't reach database|connection is closed|not queryable/i;

// Every pooled connection stayed busy longer than a request may wait for one (the
// pool's timeout, or Prisma's P2028 for a transaction): the server is overloaded,
// and a retry a moment later succeeds.
const DB_BUSY = /P2028|Unable to start a transaction in the given time|timeout exceeded when trying to connect/;

// Both answer SERVICE_UNAVAILABLE (503): nothing was written, and a retry may succeed.
const UNAVAILABLE = [
  { pattern: DB_DOWN, log: 'database unavailable', message: 'The database is unavailable; try again shortly' },
  { pattern: DB_BUSY, log: 'database pool exhausted', message: 'The server is busy; try again shortly' },
];

type Cause = { message?: string; code?: string; cause?: unknown };

/** The error and its causes, at most five deep. */
function causes(err: unknown): Cause[] {
  const chain: Cause[] = [];
  for (let e = err as Cause | undefined; e && chain.length < 5; e = e.cause as Cause | undefined) chain.push(e);
  return chain;
}

function matches(err: unknown, pattern: RegExp): boolean {
  return causes(err).some((e) => pattern.test(`${e.code ?? ''} ${e.message ?? ''}`));
}

// A value the database cannot read as its column's type (a hand-made ID or cursor that
// is no UUID): PostgreSQL's invalid_text_representation, Prisma's P2023.
const MALFORMED_VALUE = /^(22P02|P2023)$/;

export function maskError(error: unknown, requestId: string | undefined, log: Logger): GraphQLError {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original && !(original instanceof GraphQLError) && causes(original).some((e) => MALFORMED_VALUE.test(String(e.code ?? '')))) {
    return new GraphQLError('An ID or cursor is malformed', {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: 'BAD_USER_INPUT', fields: [] },
    });
  }
  const unavailable =
    original && !(original instanceof GraphQLError) ? UNAVAILABLE.find((u) => matches(original, u.pattern)) : undefined;
  if (unavailable) {
    log.warn({ requestId, err: (original as Error).message }, unavailable.log);
    return new GraphQLError(unavailable.message, {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: 'SERVICE_UNAVAILABLE', requestId, http: { status: 503 } },
    });
  }
  if (error instanceof GraphQLError) {
    // Pothos' own argument checks (cursors, page sizes) are the client's mistakes.
    if (original instanceof PothosValidationError || error instanceof PothosValidationError) {
      return new GraphQLError(error.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: 'BAD_USER_INPUT', fields: [] },
      });
    }
    // Parse and validation errors have no original; ClientErrors are meant for the client.
    if (!original || original instanceof GraphQLError) return error;
    log.error({ err: original, requestId, path: error.path }, 'unexpected error');
    return new GraphQLError('Unexpected error', {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    });
  }
  log.error({ err: error, requestId }, 'unexpected error');
  return new GraphQLError('Unexpected error', { extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
}

type Masked = { result: ExecutionResult; setResult(result: ExecutionResult): void };

/**
 * Masks execution errors where the operation's context is known, so the client's
 * error and the log line carry the request id of HTTP requests and WebSocket
 * operations alike (yoga's own masking runs after this and sees them masked).
 */
export function errorMaskingPlugin(log: Logger): Plugin {
  const maskResults = (requestId: string | undefined) => {
    const mask = ({ result, setResult }: Masked) => {
      if (result.errors?.length) setResult({ ...result, errors: result.errors.map((e) => maskError(e, requestId, log)) });
    };
    return (payload: Parameters<typeof handleStreamOrSingleExecutionResult>[0]) =>
      handleStreamOrSingleExecutionResult(payload, mask as Parameters<typeof handleStreamOrSingleExecutionResult>[1]);
  };
  const requestIdOf = (contextValue: unknown) => (contextValue as { requestId?: string } | undefined)?.requestId;
  return {
    onExecute({ args }) {
      return { onExecuteDone: maskResults(requestIdOf(args.contextValue)) };
    },
    onSubscribe({ args }) {
      const requestId = requestIdOf(args.contextValue);
      return {
        onSubscribeResult: maskResults(requestId),
        onSubscribeError: ({ error, setError }) => setError(maskError(error, requestId, log)),
      };
    },
  };
}
