// What clients see of an error: known errors keep their code; anything
// unexpected becomes INTERNAL_SERVER_ERROR with the request id, logged in full.
import { GraphQLError } from 'graphql';
import { PothosValidationError } from '@pothos/core';
import type { Logger } from './logger.js';

function isClientFacing(error: GraphQLError): boolean {
  // Parse and validation errors, and errors thrown as ClientError, carry no
  // unexpected original error.
  return !error.originalError || error.originalError instanceof GraphQLError;
}

export function maskError(error: unknown, requestId: string | undefined, log: Logger): GraphQLError {
  if (error instanceof GraphQLError) {
    if (isClientFacing(error)) return error;
    const original = error.originalError;
    if (original instanceof PothosValidationError) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        path: error.path,
        extensions: { code: 'BAD_USER_INPUT', fields: [] },
      });
    }
    if (original instanceof GraphQLError) return original;
    log.error({ err: original ?? error, requestId, path: error.path }, 'unexpected error');
    return new GraphQLError('Unexpected error', {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId },
    });
  }
  log.error({ err: error, requestId }, 'unexpected error');
  return new GraphQLError('Unexpected error', { extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
}
