// Errors a client may see, each with its extensions.code. Anything else thrown
// while executing is masked as INTERNAL_SERVER_ERROR and logged with the request id.
import { GraphQLError } from 'graphql';

export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'INTERNAL_SERVER_ERROR';

export type FieldProblem = { path: string; message: string };

export class ClientError extends GraphQLError {
  constructor(code: ErrorCode, message: string, extensions: Record<string, unknown> = {}) {
    super(message, { extensions: { code, ...extensions } });
  }
}

export const unauthenticated = (message = 'A valid credential is required') =>
  new ClientError('UNAUTHENTICATED', message);

export const forbidden = (message = 'You are not allowed to do this') =>
  new ClientError('FORBIDDEN', message);

/** Also the answer for another team's data: existence never leaks. */
export const notFound = (what: string) => new ClientError('NOT_FOUND', `${what} not found`);

export const conflict = (message: string) => new ClientError('CONFLICT', message);

export const badInput = (fields: FieldProblem[]) =>
  new ClientError(
    'BAD_USER_INPUT',
    fields.length === 1 ? `${fields[0]!.path}: ${fields[0]!.message}` : 'Invalid input',
    { fields },
  );

/** Runs a write; a unique-constraint violation becomes CONFLICT with `message`. */
export async function conflictOnDuplicate<T>(write: Promise<T>, message: string): Promise<T> {
  try {
    return await write;
  } catch (err) {
    if ((err as { code?: string }).code === 'P2002') throw conflict(message);
    throw err;
  }
}
