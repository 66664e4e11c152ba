// A subscriber's view of its team's event log: optional catch-up from a cursor,
// then live events, in seq order, without gaps or duplicates, filtered by what
// the subscriber may see. The bus is only a fast path: when an event arrives
// ahead of the next expected seq (another process published first, or Redis
// was away), it waits briefly for the missing ones on the bus, and then they
// are read from the log.
import type { Viewer } from '../auth/viewer.js';
import type { Db } from '../db.js';
import type { Metrics } from '../platform/metrics.js';
import type { Prisma, TicketEvent } from '../generated/prisma/client.js';
import type { TicketEventType } from '../generated/prisma/enums.js';
import { ClientError } from '../errors.js';
import { fromBusEvent, SlowConsumerError, type BusEvent, type EventBus, type Subscription, type TicketBusEvent } from './bus.js';
import { canSeeEvent, visibleEvents } from '../auth/visibility.js';
import { within } from './within.js';
import type { Lane } from './direct.js';

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

/** What a stream needs of the subscriber's context. */
export type StreamContext = {
  db: Db;
  bus: EventBus;
  viewer: Viewer;
  metrics: Metrics;
  dropConnection?: () => void;
  /** WebSocket only: the subscriber's place on the direct lane (live/direct.ts), joined when the stream starts. */
  directLane?: () => Lane;
};

const PAGE = 200;
/**
 * How long, from the moment a gap is seen, events that arrived ahead of their
 * turn wait for the missing ones on the bus before those are read from the log.
 * Processes publish right after their commits, so the missing ones are usually
 * milliseconds behind; reading the log at once would cost every subscriber a
 * query per reordering.
 */
const REORDER_WAIT_MS = 250;

/** Ranges of the log longer than this are read by each subscriber page by page instead of shared. */
const SHARED_RANGE_MAX = 1_000;
/** How long a shared range is kept for the subscribers that come to need it a moment later. */
const SHARED_RANGE_KEEP_MS = 2_000;
const sharedRanges = new WeakMap<Db, Map<string, Promise<TicketEvent[]>>>();

/**
 * Every event of the team with after < seq <= upTo, read once for all the subscribers of
 * this process that miss the same range: when events arrive out of turn from two
 * processes, every subscriber of the team sees the same gap at the same moment, and a
 * query each would queue hundreds of reads on the pool (and starve the mutations) for
 * rows that are the same for all. Committed rows below a seq already seen never change,
 * so the answer can be kept a moment; each subscriber then keeps what it may see.
 */
function logRange(db: Db, teamId: string, after: bigint, upTo: bigint): Promise<TicketEvent[]> {
  let ranges = sharedRanges.get(db);
  if (!ranges) sharedRanges.set(db, (ranges = new Map()));
  const key = `${teamId}:${after}:${upTo}`;
  let range = ranges.get(key);
  if (!range) {
    range = db.ticketEvent.findMany({ where: { teamId, seq: { gt: after, lte: upTo } }, orderBy: { seq: 'asc' } });
    ranges.set(key, range);
    const forget = () => setTimeout(() => ranges.delete(key), SHARED_RANGE_KEEP_MS).unref();
    range.then(forget, () => ranges.delete(key));
  }
  return range;
}

export function parseCursor(cursor: string, path = 'after'): bigint {
  // A log position is a PostgreSQL bigint: larger numbers are no position at all.
  if (!/^\d{1,19}$/.test(cursor) || BigInt(cursor) > 9_223_372_036_854_775_807n) {
    throw new ClientError('BAD_USER_INPUT', `${path}: not a cursor of the event log`, {
      fields: [{ path, message: 'must be the cursor of a TicketEvent' }],
    });
  }
  return BigInt(cursor);
}

/** Whether `event` ends the viewer's subscriptions: their credential revoked, their team deleted. */
export function endsFor(viewer: Viewer, event: BusEvent): boolean {
  if (event.kind === 'team-deleted') return true;
  if (event.kind !== 'credential-revoked') return false;
  return (
    (!!event.apiKeyId && event.apiKeyId === viewer.apiKeyId) ||
    (!!event.agentId && event.agentId === viewer.agentId) ||
    (!!event.customerId && event.customerId === viewer.customerId)
  );
}

/**
 * The subscriber's stream. Ending it (the client unsubscribes or disconnects) ends the
 * bus subscription first: a generator waiting for the next event would otherwise only
 * see its return() after that event arrived, holding its listener until then.
 */
export function liveEvents(ctx: StreamContext, options: LiveOptions): AsyncGenerator<LiveEvent> {
  const subscription = ctx.bus.subscribe(ctx.viewer.teamId!);
  const lane: { current?: Lane } = {};
  const stream = streamOf(ctx, options, subscription, lane);
  const end = stream.return.bind(stream);
  return Object.assign(stream, {
    async return(value?: LiveEvent) {
      // Nothing more goes out directly, nor is handed back to be yielded.
      lane.current?.close();
      await subscription.return();
      return end(value as never);
    },
  });
}

async function* streamOf(
  ctx: StreamContext,
  options: LiveOptions,
  subscription: Subscription,
  joined: { current?: Lane },
): AsyncGenerator<LiveEvent> {
  const { db, viewer } = ctx;
  const teamId = viewer.teamId!;
  let lane: Lane | undefined;
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

  /** fromLog for a gap between events seen: the range read once for the process (logRange), kept to what the viewer may see and wants. */
  async function* missing(last: bigint, upTo: bigint) {
    if (upTo - last > BigInt(SHARED_RANGE_MAX)) {
      yield* fromLog(last, upTo);
      return;
    }
    for (const row of await logRange(db, teamId, last, upTo)) if (wanted(row) && canSeeEvent(viewer, row)) yield row;
  }

  const endsWithTicket = (e: { type: TicketEventType; ticketId: string }) =>
    !!options.endWithTicket && e.type === 'DELETED' && e.ticketId === options.ticketId;

  // Listening started before this (liveEvents), then the log (or the log's position)
  // is read: nothing can fall between the two.
  ctx.metrics.subscriptionsOpen.inc();
  try {
    // The bus must deliver what is published from here on before the log is read.
    await subscription.ready;
    let last: bigint;
    if (options.after !== undefined) {
      last = parseCursor(options.after);
      for await (const row of fromLog(last)) {
        last = row.seq;
        yield row;
      }
    } else {
      const team = await db.team.findUnique({ where: { id: teamId }, select: { eventSeq: true } });
      if (!team) return;
      last = team.eventSeq;
    }
    // Events that came ahead of their turn (another process published first), and
    // when they stop waiting for the missing ones: fixed when the gap is first seen,
    // so a steady stream of later events cannot hold the gap open.
    const ahead = new Map<bigint, TicketBusEvent>();
    let deadline = 0;
    /** Takes `row` as the next event in turn: false when it ends the stream, else the row when the viewer gets it. */
    const take = (row: ReturnType<typeof fromBusEvent>): LiveEvent | undefined | false => {
      last = row.seq;
      if (endsWithTicket(row)) return false;
      return wanted(row) && canSeeEvent(viewer, row) ? row : undefined;
    };
    /** `first` and the events waiting right behind it, in order; false when the stream ends. */
    function* inTurn(first: TicketBusEvent): Generator<LiveEvent, boolean> {
      for (let e: TicketBusEvent | undefined = first; e; e = ahead.get(last + 1n)) {
        const row = fromBusEvent(e);
        ahead.delete(row.seq);
        const taken = take(row);
        if (taken === false) return false;
        if (taken) yield taken;
      }
      if (ahead.size) deadline = Date.now() + REORDER_WAIT_MS; // the next gap
      return true;
    }
    lane = joined.current = ctx.directLane?.();
    /**
     * The direct lane's taker, while the stream waits with nothing ahead: the usual case
     * below (an event in turn, through `take`), with the rows the viewer gets handed to the
     * lane instead of yielded. Anything else is queued for the loop below.
     */
    const direct = (event: BusEvent): boolean => {
      if (event.kind !== 'ticket-event' || lane!.full || (viewer.expiresAt && Date.now() >= viewer.expiresAt.getTime())) return false;
      const row = fromBusEvent(event);
      if (row.seq <= last) return true;
      if (row.seq !== last + 1n || endsWithTicket(row)) return false;
      const taken = take(row);
      if (taken) lane!.take(taken);
      return true;
    };
    let pending: Promise<IteratorResult<BusEvent>> | undefined;
    for (;;) {
      if (!pending) {
        pending = subscription.next();
        lane?.watch(pending);
      }
      let next: IteratorResult<BusEvent> | undefined;
      if (ahead.size) next = await within(pending, deadline - Date.now());
      else if (!lane) next = await pending;
      else {
        // Rows the lane handed back go first, through the full pipeline. Once they are
        // out (the consumer asks for more), the lane may send directly while the stream waits.
        if (lane.handedBack.length) {
          yield lane.handedBack.shift() as LiveEvent;
          continue;
        }
        if (!lane.arrival) {
          subscription.intercept(direct);
          try {
            await lane.park();
          } finally {
            subscription.intercept(undefined);
            lane.unpark();
          }
          if (!lane.arrival) continue; // rows handed back
        }
        // The bus read settled: the rows the lane took before its event come before it.
        await lane.settled();
        while (lane.handedBack.length) yield lane.handedBack.shift() as LiveEvent;
        next = await pending;
      }
      if (!next) {
        // The missing events did not come over the bus in time: the log has them.
        // biome-ignore lint/complexity/useMathMinMax: the keys are bigints, which Math.min does not take
        const first = [...ahead.keys()].reduce((a, b) => (a < b ? a : b));
        for await (const row of missing(last, first - 1n)) {
          if (endsWithTicket(row)) return;
          yield row;
        }
        last = first - 1n;
        if (!(yield* inTurn(ahead.get(first)!))) return;
        continue;
      }
      pending = undefined;
      if (next.done) return;
      const event = next.value;
      if (endsFor(viewer, event)) return;
      if (event.kind === 'resync') {
        // The bus was cut off from Redis: what was published meanwhile is in the log.
        for await (const row of fromLog(last)) {
          if (endsWithTicket(row)) return;
          last = row.seq;
          yield row;
        }
        for (const seq of ahead.keys()) if (seq <= last) ahead.delete(seq);
        const waiting = ahead.get(last + 1n);
        if (waiting && !(yield* inTurn(waiting))) return;
        continue;
      }
      if (event.kind !== 'ticket-event') continue;
      // The process's one row for this event (fromBusEvent): its seq is parsed once, not per subscriber.
      const row = fromBusEvent(event);
      const seq = row.seq;
      if (seq <= last) continue; // replayed already, or filled in from the log
      if (seq === last + 1n && ahead.size === 0) {
        // The usual case, the next event with none waiting behind it: inTurn's work for one
        // event, without a generator per event and subscriber.
        const taken = take(row);
        if (taken === false) return;
        if (taken) yield taken;
      } else if (seq > last + 1n) {
        if (ahead.size === 0) deadline = Date.now() + REORDER_WAIT_MS;
        ahead.set(seq, event);
      } else if (!(yield* inTurn(event))) return;
    }
  } catch (err) {
    if (err instanceof SlowConsumerError) {
      ctx.dropConnection?.();
      throw new ClientError('RATE_LIMITED', `Subscription ended: ${err.message}; reconnect with \`after\` to catch up`);
    }
    throw err;
  } finally {
    lane?.close();
    ctx.metrics.subscriptionsOpen.dec();
    await subscription.return();
  }
}
