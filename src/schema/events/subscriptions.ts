import type { Context } from '../../context.js';
import type { TicketEvent as TicketEventRow } from '../../generated/prisma/client.js';
import { notFound } from '../../errors.js';
import { liveEvents } from '../../live/streams.js';
import { visibleMessages, visibleTickets } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { uuidOf } from '../common/global-ids.js';
import { Message } from '../messages/types.js';
import { Ticket } from '../tickets/types.js';
import { TicketEvent, TicketEventFilter } from './types.js';

/** The ticket's UUID when the caller can see it; NOT_FOUND otherwise, before anything is streamed. */
async function visibleTicketId(ctx: Context, id: string, path: string): Promise<string> {
  const uuid = uuidOf('Ticket', id, path);
  const ticket = await ctx.db.ticket.findFirst({ where: { id: uuid, AND: [visibleTickets(ctx.viewer)] }, select: { id: true } });
  if (!ticket) throw notFound('Ticket');
  return ticket.id;
}

builder.subscriptionType({
  description: 'Live updates, over graphql-ws (WebSocket) or server-sent events, each filtered by what the subscriber may see.',
});

builder.subscriptionFields((t) => ({
  ticketEvents: t.field({
    type: TicketEvent,
    description:
      "The team's ticket events as they happen (a customer: those of their own tickets, without internal notes). " +
      'With `after`, first the events after that cursor, then live ones: no gap, no duplicate.',
    authScopes: { scope: 'READ' },
    args: {
      filter: t.arg({ type: TicketEventFilter, description: 'Which events to receive.' }),
      after: t.arg.string({ description: 'The `cursor` of the last event received: replay from there.' }),
    },
    subscribe: (_root, { filter, after }, ctx) =>
      liveEvents(ctx, {
        after: after ?? undefined,
        ticketId: filter?.ticketId ? uuidOf('Ticket', filter.ticketId, 'filter.ticketId') : undefined,
        types: filter?.types ?? undefined,
      }),
    // A live event lacks changes, actor and occurredAt; those fields read them on demand.
    resolve: (event) => event as TicketEventRow,
  }),

  ticketUpdated: t.field({
    type: Ticket,
    description: 'A ticket each time it or its thread changes; ends when the ticket is deleted.',
    authScopes: { scope: 'READ' },
    args: { id: t.arg.id({ required: true, description: 'The ticket (tkt_… or UUID).' }) },
    subscribe: async (_root, { id }, ctx) =>
      liveEvents(ctx, {
        ticketId: await visibleTicketId(ctx, id, 'id'),
        types: ['UPDATED', 'CLOSED', 'ASSIGNED', 'MESSAGE_ADDED'],
        endWithTicket: true,
      }),
    resolve: async (event, _args, { db, viewer }) => {
      const ticket = await db.ticket.findFirst({ where: { id: event.ticketId, AND: [visibleTickets(viewer)] } });
      if (!ticket) throw notFound('Ticket');
      return ticket;
    },
  }),

  messageAdded: t.field({
    type: Message,
    description: 'Each new message of a ticket the caller may see (customers: public ones); ends when the ticket is deleted.',
    authScopes: { scope: 'READ' },
    args: { ticketId: t.arg.id({ required: true, description: 'The ticket (tkt_… or UUID).' }) },
    subscribe: async (_root, { ticketId }, ctx) =>
      liveEvents(ctx, { ticketId: await visibleTicketId(ctx, ticketId, 'ticketId'), types: ['MESSAGE_ADDED'], endWithTicket: true }),
    resolve: async (event, _args, { db, viewer }) => {
      const message = event.messageId
        ? await db.message.findFirst({ where: { id: event.messageId, AND: [visibleMessages(viewer)] } })
        : null;
      if (!message) throw notFound('Message');
      return message;
    },
  }),
}));
