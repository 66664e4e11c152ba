import { forbidden } from '../../errors.js';
import type { builder } from '../builder.js';
import { cursorOfPayload } from './mutation-cursor.js';

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

type FieldBuilder = Parameters<Parameters<typeof builder.objectFields>[1]>[0];

/**
 * The `cursor` field every mutation payload carries: spread it into the payload's
 * `outputFields`. New mutations get it the same way.
 */
export const payloadCursor = (t: FieldBuilder) => ({
  cursor: t.string({
    nullable: true,
    description:
      "Position in the team's event log of the last event this mutation committed (as TicketEvent.cursor); null when it committed none. A live console that sees this cursor in its subscription has its own write.",
    resolve: (payload) => cursorOfPayload(payload as object),
  }),
});
