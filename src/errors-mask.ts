// What clients see of an error: known errors keep their code; anything
// unexpected becomes INTERNAL_SERVER_ERROR with the request id, logged in full.
import { GraphQLError } from 'graphql';
import { PothosValidationError } from '@pothos/core';
import type { Logger } from './logger.js';

export function maskError(error: unknown, requestId: string | undefined, log: Logger): GraphQLError {
  if (error instanceof GraphQLError) {
    const original = error.originalError;
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
