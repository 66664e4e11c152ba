import { queryFromInfo } from '@pothos/plugin-prisma';
import type { GraphQLResolveInfo } from 'graphql';
import { NO_TEAM, visibleMessages, visibleTickets } from '../../auth/visibility.js';
import type { Context } from '../../context.js';
import { forbidden, notFound } from '../../errors.js';
import type { BulkJob, Message, Ticket } from '../../generated/prisma/client.js';
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

type Written = { Ticket: Ticket; Message: Message; BulkJob: BulkJob };

/** How a payload's row is read back when the operation selects more than its columns: as `ticket(id:)` would, with the viewer's visibility. */
const readBackAs = {
  Ticket: (ctx: Context, id: string, query: object) => ctx.db.ticket.findUnique({ ...query, where: { id, AND: [visibleTickets(ctx.viewer)] } }),
  Message: (ctx: Context, id: string, query: object) => ctx.db.message.findUnique({ ...query, where: { id, AND: [visibleMessages(ctx.viewer)] } }),
  BulkJob: (ctx: Context, id: string, query: object) => ctx.db.bulkJob.findFirst({ ...query, where: { id, teamId: ctx.viewer.teamId ?? NO_TEAM } }),
};

/**
 * A field's answer from a whole row the resolver holds (the row a mutation wrote, the
 * row a subscription just read): when the operation selects only the row's own columns
 * (the usual `ticket { id number status }`), the row is answered as it is, instead of
 * being read back by one more statement, which would also answer a later state than the
 * one the row stands for. A selection of relations or counts reads the row back,
 * with the viewer's visibility, as `ticket(id:)` would. Either way plugin-prisma's
 * mapping for the fields below is the one this query sets.
 */
export function writtenRow<T extends keyof Written>(
  typeName: T,
  row: Written[T],
  ctx: Context,
  info: GraphQLResolveInfo,
): Written[T] | Promise<Written[T]> {
  const query = queryFromInfo({ context: ctx, info, typeName }) as { select?: Record<string, unknown>; include?: Record<string, unknown> };
  // Select mode (Ticket, Message): the columns asked for, all on the row. Include mode
  // (BulkJob): the whole row, and no relation to include.
  const columnsOnly = query.select
    ? Object.entries(query.select).every(([field, selected]) => selected === true && field in row)
    : Object.keys(query.include ?? {}).length === 0;
  if (columnsOnly) return row;
  // Gone already (a concurrent delete) is NOT_FOUND, as ticket(id:) would answer.
  return (readBackAs[typeName](ctx, row.id, query) as Promise<Written[T] | null>).then((found) => found ?? Promise.reject(notFound(typeName)));
}
