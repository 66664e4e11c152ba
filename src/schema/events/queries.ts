// The event log as a query: integrators that sync by polling page through it with
// the same cursors, and the same visibility, as the ticketEvents subscription.
import { visibleEvents } from '../../auth/visibility.js';
import { parseCursor } from '../../live/streams.js';
import { builder } from '../builder.js';
import { uuidOf } from '../common/global-ids.js';
import { checkPageSize } from '../common/paging.js';
import { TicketEvent, TicketEventFilter } from './types.js';

const DEFAULT_PAGE = 20;

const EventFeed = builder.connectionObject(
  {
    type: TicketEvent,
    name: 'TicketEventConnection',
    description: "A page of the team's event log, oldest first.",
  },
  { name: 'TicketEventEdge', description: 'An event in a page; its cursor is the event’s position in the log.' },
);

builder.queryFields((t) => ({
  events: t.field({
    type: EventFeed,
    description:
      "The team's event log, oldest first, with what the caller may see of it (as the ticketEvents subscription: a customer gets the public events of their own tickets). " +
      'Page with `after` = `pageInfo.endCursor` until `hasNextPage` is false, then subscribe to ticketEvents with the same `after`: every event arrives exactly once.',
    authScopes: { scope: 'READ' },
    args: {
      after: t.arg.string({ description: 'A cursor of the log (TicketEvent.cursor, or "0" for the beginning): events after it.' }),
      first: t.arg.int({ description: `How many events (at most 100; ${DEFAULT_PAGE} by default).` }),
      filter: t.arg({ type: TicketEventFilter, description: 'Which events to list.' }),
    },
    resolve: async (_root, { after, first, filter }, { db, viewer }) => {
      checkPageSize({ first });
      const take = first ?? DEFAULT_PAGE;
      const from = after == null ? 0n : parseCursor(after);
      const rows =
        take === 0
          ? []
          : await db.ticketEvent.findMany({
              where: {
                AND: [
                  visibleEvents(viewer),
                  { seq: { gt: from } },
                  filter?.ticketId ? { ticketId: uuidOf('Ticket', filter.ticketId, 'filter.ticketId') } : {},
                  filter?.types?.length ? { type: { in: filter.types } } : {},
                ],
              },
              orderBy: { seq: 'asc' },
              take: take + 1,
            });
      const page = rows.slice(0, take);
      const edges = page.map((node) => ({ cursor: node.seq.toString(), node }));
      return {
        edges,
        pageInfo: {
          hasNextPage: rows.length > take,
          hasPreviousPage: false, // the feed pages forward only
          startCursor: edges[0]?.cursor ?? null,
          // An empty page keeps the caller where it was: poll again with the same cursor.
          endCursor: edges.at(-1)?.cursor ?? (after ?? null),
        },
      };
    },
  }),
}));
