// A subscriber's view of its team's event log: optional catch-up from a cursor,
// then live events, in seq order, without gaps or duplicates, filtered by what
// the subscriber may see. The bus is only a fast path: whenever an event
// arrives ahead of the next expected seq (another process published first, or
// Redis was away), the missing ones are read from the log.
import type { Context } from './context.js';
import type { Prisma, TicketEvent } from './generated/prisma/client.js';
import type { TicketEventType } from './generated/prisma/enums.js';
import { ClientError } from './errors.js';
import { fromBusEvent, SlowConsumerError, type BusEvent } from './pubsub.js';
import { canSeeEvent, visibleEvents } from './visibility.js';

/** An event as subscribers get it: a log row, or the bus' copy of one (no `changes`, `actor`). */
export type LiveEvent = Omit<TicketEvent, 'changes' | 'actor' | 'occurredAt'> & {
  changes?: TicketEvent['changes'];
  actor?: TicketEvent['actor'];
  occurredAt?: Date;
};

export type LiveOptions = {
  /** Replay events after this cursor first. */
  after?: string;
  ticketId?: string;
  types?: readonly TicketEventType[];
  /** End the stream when the ticket is deleted (subscriptions to one ticket). */
  endWithTicket?: boolean;
};

const PAGE = 200;

export function parseCursor(cursor: string): bigint {
  if (!/^\d{1,19}$/.test(cursor)) {
    throw new ClientError('BAD_USER_INPUT', 'after: not a cursor of the event log', {
      fields: [{ path: 'after', message: 'must be the cursor of a TicketEvent' }],
    });
  }
  return BigInt(cursor);
}

function endsFor(viewer: Context['viewer'], event: BusEvent): boolean {
  if (event.kind === 'team-deleted') return true;
  if (event.kind !== 'credential-revoked') return false;
  return (
    (!!event.apiKeyId && event.apiKeyId === viewer.apiKeyId) ||
    (!!event.agentId && event.agentId === viewer.agentId) ||
    (!!event.customerId && event.customerId === viewer.customerId)
  );
}

export async function* liveEvents(ctx: Context, options: LiveOptions): AsyncGenerator<LiveEvent> {
  const { db, bus, viewer } = ctx;
  const teamId = viewer.teamId!;
  const wanted = (e: { ticketId: string; type: TicketEventType }) =>
    (!options.ticketId || e.ticketId === options.ticketId) && (!options.types || options.types.includes(e.type));
  const where: Prisma.TicketEventWhereInput = {
    AND: [
      visibleEvents(viewer),
      options.ticketId ? { ticketId: options.ticketId } : {},
      options.types ? { type: { in: [...options.types] } } : {},
    ],
  };
  /** Visible, wanted events of the log with last < seq <= upTo, in order. */
  async function* fromLog(last: bigint, upTo?: bigint) {
    for (;;) {
      const rows = await db.ticketEvent.findMany({
        where: { ...where, teamId, seq: { gt: last, ...(upTo !== undefined && { lte: upTo }) } },
        orderBy: { seq: 'asc' },
        take: PAGE,
      });
      for (const row of rows) yield row;
      if (rows.length < PAGE) return;
      last = rows.at(-1)!.seq;
    }
  }

  const endsWithTicket = (e: { type: TicketEventType; ticketId: string }) =>
    !!options.endWithTicket && e.type === 'DELETED' && e.ticketId === options.ticketId;

  // Listen first, then read the log: nothing can fall between the two.
  const subscription = bus.subscribe(teamId);
  ctx.metrics.subscriptionsOpen.inc();
  try {
    let last: bigint | undefined;
    if (options.after !== undefined) {
      last = parseCursor(options.after);
      for await (const row of fromLog(last)) {
        last = row.seq;
        yield row;
      }
    }
    for await (const event of subscription) {
      if (endsFor(viewer, event)) return;
      if (event.kind !== 'ticket-event') continue;
      const seq = BigInt(event.seq);
      if (last !== undefined && seq <= last) continue; // replayed already, or filled in from the log
      if (last !== undefined && seq > last + 1n) {
        for await (const row of fromLog(last, seq - 1n)) {
          if (endsWithTicket(row)) return;
          yield row;
        }
      }
      last = seq;
      if (endsWithTicket(event)) return;
      if (wanted(event) && canSeeEvent(viewer, event)) yield fromBusEvent(event);
    }
  } catch (err) {
    if (err instanceof SlowConsumerError) {
      ctx.dropConnection?.();
      throw new ClientError('RATE_LIMITED', `Subscription ended: ${err.message}; reconnect with \`after\` to catch up`);
    }
    throw err;
  } finally {
    ctx.metrics.subscriptionsOpen.dec();
    await subscription.return();
  }
}
