import { badInput } from '../../errors.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A connection's cursor must name a row the caller can see. Prisma positions a page
 * relative to the cursor's row wherever it is, so a cursor made from another team's
 * ID would tell whether that row exists and where it sorts; a malformed one would
 * reach the database. Both answer BAD_USER_INPUT, alike.
 */
export async function checkCursor(
  query: { cursor?: { id?: unknown } },
  args: { before?: string | null },
  visibleCount: (id: string) => Promise<number>,
): Promise<void> {
  const cursor = query.cursor;
  if (!cursor) return;
  const id = cursor.id;
  if (typeof id !== 'string' || !UUID.test(id) || (await visibleCount(id)) === 0) {
    throw badInput([{ path: args.before != null ? 'before' : 'after', message: 'not a cursor of this list' }]);
  }
}
