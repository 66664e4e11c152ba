// Presence: heartbeats (setPresence), the live view of a ticket (ticketPresence), and
// Ticket.presence. Nothing here touches the database beyond checking that the caller
// may see the ticket.
import type { Context } from '../../context.js';
import { badInput, notFound } from '../../errors.js';
import { visibleTickets } from '../../auth/visibility.js';
import type { PresenceEntry } from '../../live/bus.js';
import type { Participant } from '../../live/presence.js';
import { endsFor } from '../../live/streams.js';
import { builder } from '../builder.js';
import { payloadCursor } from '../common/payloads.js';
import { uuidOf } from '../common/global-ids.js';
import { Ticket } from '../tickets/types.js';
import { PresenceStateEnum, TicketPresence, presenceOf } from './types.js';

/** The ticket's UUID when the caller can see it; NOT_FOUND otherwise (another team's ticket too). */
async function visibleTicket(ctx: Context, id: string, path: string): Promise<string> {
  const uuid = uuidOf('Ticket', id, path);
  const ticket = await ctx.db.ticket.findFirst({ where: { id: uuid, AND: [visibleTickets(ctx.viewer)] }, select: { id: true } });
  if (!ticket) throw notFound('Ticket');
  return ticket.id;
}

function participantOf({ viewer }: Context): Participant {
  if (viewer.agentId) return { kind: 'agent', id: viewer.agentId, name: viewer.name ?? null };
  if (viewer.customerId) return { kind: 'customer', id: viewer.customerId, name: viewer.name ?? null };
  return { kind: 'apiKey', id: viewer.apiKeyId!, name: viewer.name ?? null };
}

/** Over graphql-ws, the entry goes when the connection that sent or watched it closes. */
function leaveOnDisconnect(ctx: Context, ticketId: string, who: Participant) {
  ctx.onDisconnect?.(`presence:${ticketId}`, () => {
    ctx.presence.leave(ctx.viewer.teamId!, ticketId, who).catch((err: unknown) => ctx.log.warn({ err }, 'presence not cleared'));
  });
}

builder.relayMutationField(
  'setPresence',
  {
    description: 'A presence heartbeat.',
    inputFields: (t) => ({
      ticketId: t.id({ required: true, description: 'The ticket (tkt_… or UUID).' }),
      state: t.field({ type: PresenceStateEnum, required: true, description: 'What the caller is doing on it.' }),
    }),
  },
  {
    description:
      'Says the caller is on a ticket and what they are doing: a heartbeat, to repeat every few seconds; the entry lapses after about 30 s without one, and at once when the graphql-ws connection that sent it, or a ticketPresence subscription of the caller to the ticket, ends. ' +
      'Heartbeats less than a second apart for the same ticket are coalesced: not stored, though a changed state is stored when the second is over. Writes nothing to the database, the event log, emails or webhooks.',
    authScopes: { member: true, scope: 'READ' },
    resolve: async (_root, { input }, ctx) => {
      if (input.state === 'COMPOSING_NOTE' && ctx.viewer.role === 'CUSTOMER') {
        throw badInput([{ path: 'input.state', message: 'customers do not write internal notes' }]);
      }
      const ticketId = await visibleTicket(ctx, input.ticketId, 'input.ticketId');
      const who = participantOf(ctx);
      const { stored, presence } = await ctx.presence.beat(ctx.viewer.teamId!, ticketId, who, input.state);
      leaveOnDisconnect(ctx, ticketId, who);
      return { stored, presence };
    },
  },
  {
    description: 'The ticket’s presence after the heartbeat.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      stored: t.boolean({ description: 'False when the heartbeat came less than a second after the last one and was coalesced.', resolve: (r) => r.stored }),
      presence: t.field({ type: TicketPresence, description: 'Who is on the ticket now.', resolve: (r) => r.presence }),
    }),
  },
);

builder.subscriptionField('ticketPresence', (t) =>
  t.field({
    type: TicketPresence,
    description:
      'Who is on a ticket and doing what: the current presence at once, then each change and each entry that lapses. Customers see only that an agent is typing. ' +
      "Ending the subscription (or its connection) removes the caller's own entry on the ticket.",
    authScopes: { member: true, scope: 'READ' },
    args: { ticketId: t.arg.id({ required: true, description: 'The ticket (tkt_… or UUID).' }) },
    subscribe: async (_root, { ticketId }, ctx) => {
      const id = await visibleTicket(ctx, ticketId, 'ticketId');
      const who = participantOf(ctx);
      const teamId = ctx.viewer.teamId!;
      // A customer is told of staff typing a public reply only: nothing else that happens on the ticket reaches them, not even as an unchanged result.
      const shown = ctx.viewer.role === 'CUSTOMER' ? (e: PresenceEntry) => e.kind !== 'customer' && e.state === 'TYPING' : undefined;
      const watching = ctx.presence.watch(teamId, id, { shown, endsWith: (event) => endsFor(ctx.viewer, event) });
      const end = watching.return.bind(watching);
      // The stream ends when the client unsubscribes or the SSE stream / socket closes.
      return Object.assign(watching, {
        async return(value?: unknown) {
          await ctx.presence.leave(teamId, id, who).catch((err: unknown) => ctx.log.warn({ err }, 'presence not cleared'));
          return end(value as never);
        },
      });
    },
    resolve: (presence) => presence,
  }),
);

builder.prismaObjectField(Ticket, 'presence', (t) =>
  t.field({
    type: TicketPresence,
    description: 'Who is on the ticket right now and doing what (see ticketPresence); customers see only that an agent is typing.',
    resolve: (ticket, _args, ctx) => presenceOf(ctx)(ticket.id),
  }),
);
