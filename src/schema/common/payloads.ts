import { forbidden } from '../../errors.js';

/**
 * Options of a mutation payload's field that returns what was written: a credential
 * without the READ scope (a write-only API key) may not read, through the payload,
 * what `ticket(id:)` would refuse it. The write stands; the field answers FORBIDDEN.
 */
export const readBack = {
  authScopes: { scope: 'READ' },
  unauthorizedError: () =>
    forbidden('Written, but this credential may not read it back (it has no READ scope): select only the payload’s IDs'),
} as const;
