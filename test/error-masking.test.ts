// How unexpected errors are answered, error by error (the pipeline around it is
// tested over HTTP in errors.test.ts and database-outage.test.ts).
import { GraphQLError } from 'graphql';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { maskError } from '../src/plugins/error-masking.js';

const log = createLogger('silent');
const fromResolver = (err: Error) => new GraphQLError(err.message, { originalError: err, path: ['ticket'] });

describe('maskError', () => {
  test.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['an administrator shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
    ['a pg client whose connection broke', new Error('Client has encountered a connection error and is not queryable')],
  ])('%s is SERVICE_UNAVAILABLE (503) with the request id', (_name, err) => {
    const masked = maskError(fromResolver(err), 'req-1', log);
    expect(masked.extensions).toEqual({ code: 'SERVICE_UNAVAILABLE', requestId: 'req-1', http: { status: 503 } });
    expect(masked.path).toEqual(['ticket']);
  });

  test('a malformed UUID reaching the database is BAD_USER_INPUT', () => {
    const masked = maskError(fromResolver(Object.assign(new Error('invalid input syntax for type uuid: "x"'), { code: '22P02' })), 'req-2', log);
    expect(masked.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  test('anything else is INTERNAL_SERVER_ERROR without its message', () => {
    const masked = maskError(fromResolver(new Error('secret detail')), 'req-3', log);
    expect(masked.message).toBe('Unexpected error');
    expect(masked.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR', requestId: 'req-3' });
  });
});
