import { badInput } from '../../errors.js';

export const MAX_PAGE_SIZE = 100;

/** Refuses page sizes the API does not serve, rather than silently clamping them. */
export function checkPageSize(args: { first?: number | null; last?: number | null }): void {
  for (const name of ['first', 'last'] as const) {
    const value = args[name];
    if (value != null && (value < 0 || value > MAX_PAGE_SIZE)) {
      throw badInput([{ path: name, message: `must be between 0 and ${MAX_PAGE_SIZE}` }]);
    }
  }
}

/**
 * `maxSize` of every connection: Pothos clamps oversized pages, the API refuses
 * them with BAD_USER_INPUT instead.
 */
export function pageSizeLimit(args: { first?: number | null; last?: number | null }): number {
  checkPageSize(args);
  return MAX_PAGE_SIZE;
}
