// Live ticket events, fanned out to every server process. With Redis the event
// target is @graphql-yoga/redis-event-target, so a change made by any process
// reaches subscribers on all of them; without it, an in-process EventTarget.
import { setMaxListeners } from 'node:events';
import { createRedisEventTarget } from '@graphql-yoga/redis-event-target';
import type { Redis } from 'ioredis';
import type { TicketEventType } from '../generated/prisma/enums.js';

/**
 * What crosses the bus: ids and the facts visibility decides on, never content.
 * Subscribers re-read what they show with their own permissions.
 */
export type BusEvent =
  | {
      kind: 'ticket-event';
      id: string;
      /** The event's position in the log, as a decimal string (JSON has no bigint). */
      seq: string;
      teamId: string;
      ticketId: string;
      customerId: string | null;
      messageId: string | null;
      isInternal: boolean;
      type: TicketEventType;
      changedFields: string[];
    }
  /** A credential stopped being valid: its live subscriptions end. */
  | { kind: 'credential-revoked'; teamId: string; apiKeyId?: string; agentId?: string; customerId?: string }
  /** The person behind a credential changed (name, email, role): processes read it again (auth/credential-cache.ts). */
  | { kind: 'credential-changed'; teamId: string; agentId?: string; customerId?: string }
  /** The team was deleted: every subscription of it ends. */
  | { kind: 'team-deleted'; teamId: string }
  /**
   * Never published: this process's bus tells its own subscribers that it was cut off
   * from Redis and is listening again, so that they read what they missed from the log.
   */
  | { kind: 'resync'; teamId: string }
  /** Who is on a ticket now (live/presence.ts): sent to the ticket's presence topic, never to the team's. */
  | PresenceNotice
  /** A bulk job counted a ticket, finished or was cancelled: sent to the job's topic; subscribers read it again. */
  | { kind: 'bulk-job'; teamId: string; bulkJobId: string };

/** A ticket's whole presence after a change; `version` grows with each change, so an older notice is recognised. */
export type PresenceNotice = {
  kind: 'presence';
  teamId: string;
  ticketId: string;
  version: number;
  entries: PresenceEntry[];
};

export type PresenceState = 'VIEWING' | 'TYPING' | 'COMPOSING_NOTE' | 'IDLE';

/** Someone on a ticket: who (as the log's Actor names people), what they do, and until when the entry holds. */
export type PresenceEntry = {
  kind: 'agent' | 'customer' | 'apiKey';
  id: string;
  name: string | null;
  state: PresenceState;
  /** Milliseconds since the epoch: when this state began. */
  since: number;
  /** Milliseconds since the epoch: gone unless a heartbeat comes before. */
  expiresAt: number;
};

export type TicketBusEvent = Extract<BusEvent, { kind: 'ticket-event' }>;
type EventRow = Omit<TicketBusEvent, 'kind' | 'seq'> & { seq: bigint };

/** A row of the event log as it crosses the bus (ids and visibility facts only). */
export function toBusEvent(e: EventRow): BusEvent {
  return {
    kind: 'ticket-event',
    id: e.id,
    seq: e.seq.toString(),
    teamId: e.teamId,
    ticketId: e.ticketId,
    customerId: e.customerId,
    messageId: e.messageId,
    isInternal: e.isInternal,
    type: e.type,
    changedFields: e.changedFields,
  };
}

const rows = new WeakMap<TicketBusEvent, EventRow>();

/**
 * The inverse of toBusEvent. Every subscriber of a process gets the same object for
 * one bus event, which lets subscribers that see it alike share one result (live.ts).
 */
export function fromBusEvent(event: TicketBusEvent): EventRow {
  let row = rows.get(event);
  if (!row) {
    const { kind: _kind, seq, ...rest } = event;
    row = { ...rest, seq: BigInt(seq) };
    rows.set(event, row);
  }
  return row;
}

export class SlowConsumerError extends Error {
  override name = 'SlowConsumerError';
}

export type Subscription = AsyncIterableIterator<BusEvent> & {
  return(): Promise<IteratorResult<BusEvent>>;
  /**
   * Resolves once events published from now on are sure to reach this subscription:
   * at once in process; with Redis, when Redis has confirmed the channel's SUBSCRIBE
   * (or after a short wait, while Redis is away). Read the log's position only then.
   */
  ready: Promise<void>;
  /**
   * While set and a next() waits with nothing queued, an event goes to `take` instead, and
   * is queued only when `take` answers false (the direct lane, live/direct.ts).
   */
  intercept(take: ((event: BusEvent) => boolean) | undefined): void;
};

export type EventBus = {
  /** Fire and forget: a failed publish is logged, never thrown at the change that caused it. */
  publish(event: BusEvent): void;
  /**
   * Events of a team from now on. At most `maxQueued` wait for a slow consumer;
   * one more ends the subscription with SlowConsumerError instead of growing memory.
   */
  subscribe(teamId: string, maxQueued?: number): Subscription;
  /** Presence notices of one ticket of the team from now on, and the team's credential-revoked and team-deleted events. */
  presence(teamId: string, ticketId: string): Subscription;
  /** Progress notices of one bulk job of the team from now on, and the team's credential-revoked and team-deleted events. */
  bulkJob(teamId: string, bulkJobId: string): Subscription;
  /**
   * Revocations, credential changes and team deletions of every team, from now on, as
   * they are published (any process, with Redis): for the credential cache. Returns how
   * to stop listening.
   */
  onCredentialChange(listener: (event: Announcement) => void): () => void;
};

/** What the bus carries besides ticket events and bulk jobs' progress: credentials and teams that changed. */
export type Announcement = Exclude<BusEvent, { kind: 'ticket-event' | 'bulk-job' }>;

/**
 * The Redis event target, with its commands' failures (Redis down) reported
 * instead of left as unhandled rejections: live delivery pauses, the server
 * keeps working, and clients catch up from the event log with `after`.
 */
function redisTarget(
  clients: { publish: Redis; subscribe: Redis },
  onError: (err: unknown) => void,
  subscribed: Map<string, Promise<unknown>>,
): EventTarget {
  const publishClient = {
    publish: (channel: string, message: string) => clients.publish.publish(channel, message).catch(onError),
  };
  const subscribeClient = {
    on: (event: string, listener: (channel: string, message: string) => void) => clients.subscribe.on(event, listener),
    subscribe: (channel: string) => {
      const confirmed = clients.subscribe.subscribe(channel).catch(onError);
      subscribed.set(channel, confirmed);
      return confirmed;
    },
    unsubscribe: (channel: string) => {
      subscribed.delete(channel);
      return clients.subscribe.unsubscribe(channel).catch(onError);
    },
  };
  return createRedisEventTarget({
    publishClient: publishClient as unknown as Redis,
    subscribeClient: subscribeClient as unknown as Redis,
  }) as unknown as EventTarget;
}

const topic = (teamId: string) => `ticketql:team:${teamId}`;
const presenceTopic = (ticketId: string) => `ticketql:presence:${ticketId}`;
const bulkJobTopic = (bulkJobId: string) => `ticketql:bulk-job:${bulkJobId}`;
function topicOf(event: BusEvent): string {
  if (event.kind === 'presence') return presenceTopic(event.ticketId);
  if (event.kind === 'bulk-job') return bulkJobTopic(event.bulkJobId);
  return topic(event.teamId);
}
/** Events of a team's topic that end a subscription to something of the team (a revoked credential, a deleted team). */
const endings = (event: BusEvent) => event.kind !== 'ticket-event';
// Announcements go to their team's topic (its live streams end on them) and to this
// one, which each process's credential cache listens to whatever the teams.
const CREDENTIALS_TOPIC = 'ticketql:credentials';

/**
 * How long a new subscription waits for Redis to confirm its channel. Past it (Redis
 * is away) the stream starts anyway: what it misses meanwhile is read from the log
 * when a later event shows the gap.
 */
const SUBSCRIBE_WAIT_MS = 2_000;

/** Resolves when `promise` settles, or after `ms`, whichever comes first. */
function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]).then(
    () => clearTimeout(timer),
    () => clearTimeout(timer),
  );
}

/** @default 1000 events waiting per subscriber */
export const DEFAULT_MAX_QUEUED = 1000;

export function createEventBus(options: {
  redis?: { publish: Redis; subscribe: Redis };
  onError?: (err: unknown) => void;
}): EventBus {
  const onError = options.onError ?? (() => {});
  /** Redis channels and their SUBSCRIBE's confirmation. */
  const subscribed = new Map<string, Promise<unknown>>();
  const target: EventTarget = options.redis ? redisTarget(options.redis, onError, subscribed) : new EventTarget();
  // One listener per live subscription: hundreds on one team's topic are expected,
  // not the leak Node warns of past 10.
  if (!options.redis) setMaxListeners(0, target);
  /** Each open subscription's way to hear of a resync. */
  const resyncs = new Set<() => void>();
  /** This process's credential listeners, told of its own announcements at once (see publish). */
  const credentialListeners = new Set<(event: Announcement) => void>();
  if (options.redis) {
    // Events published while the subscribing connection was down never arrive. Once
    // it is back and its channels are subscribed again (ioredis resubscribes before
    // this PING's answer), each subscriber reads the log from where it is.
    const connection = options.redis.subscribe;
    let cutOff = false;
    connection.on('close', () => (cutOff = true));
    connection.on('ready', () => {
      if (!cutOff) return;
      cutOff = false;
      void connection.ping().then(
        () => {
          for (const resync of resyncs) resync();
        },
        onError,
      );
    });
  }

  return {
    publish(event) {
      try {
        target.dispatchEvent(new CustomEvent(topicOf(event), { detail: event }));
        if (event.kind !== 'ticket-event' && event.kind !== 'presence' && event.kind !== 'bulk-job') {
          // The process that made the change hears of it before its next request: through
          // Redis its own announcement would come back a round trip later, and a request
          // in between could still act as the credential was. (With Redis it hears it
          // again then: one more drop of the team's cached entries, harmless.)
          if (options.redis) for (const listener of credentialListeners) listener(event);
          target.dispatchEvent(new CustomEvent(CREDENTIALS_TOPIC, { detail: event }));
        }
      } catch (err) {
        onError(err);
      }
    },

    onCredentialChange(listener) {
      const handle = (e: Event) => listener((e as CustomEvent<Announcement>).detail);
      target.addEventListener(CREDENTIALS_TOPIC, handle);
      credentialListeners.add(listener);
      return () => {
        target.removeEventListener(CREDENTIALS_TOPIC, handle);
        credentialListeners.delete(listener);
      };
    },

    subscribe: (teamId, maxQueued = DEFAULT_MAX_QUEUED) => listen([topic(teamId)], teamId, maxQueued),
    // The team's topic too, for what ends a subscription (revoked credentials, a deleted team), not its ticket events.
    presence: (teamId, ticketId) => listen([presenceTopic(ticketId), topic(teamId)], teamId, DEFAULT_MAX_QUEUED, endings),
    bulkJob: (teamId, bulkJobId) => listen([bulkJobTopic(bulkJobId), topic(teamId)], teamId, DEFAULT_MAX_QUEUED, endings),
  };

  function listen(names: string[], teamId: string, maxQueued: number, wanted: (event: BusEvent) => boolean = () => true): Subscription {
    const queue: BusEvent[] = [];
    let wake: (() => void) | undefined;
    let finished = false;
    let overflowed = false;
    let take: ((event: BusEvent) => boolean) | undefined;
    const deliver = (event: BusEvent) => {
      if (finished) return;
      // Only while a next() waits on an empty queue: an event it holds already goes first.
      if (take && wake && queue.length === 0) {
        try {
          if (take(event)) return;
        } catch {
          // Queued instead: the stream's own path meets the same failure and ends this
          // subscription alone (a listener's exception would reach the process).
        }
      }
      if (queue.length >= maxQueued) {
        overflowed = true;
        finish();
      } else {
        queue.push(event);
      }
      wake?.();
    };
    const listener = (e: Event) => {
      const event = (e as CustomEvent<BusEvent>).detail;
      if (wanted(event)) deliver(event);
    };
    const resync = () => deliver({ kind: 'resync', teamId });
    const finish = () => {
      finished = true;
      take = undefined;
      for (const name of names) target.removeEventListener(name, listener);
      resyncs.delete(resync);
    };
    for (const name of names) target.addEventListener(name, listener);
    resyncs.add(resync);
    const confirmed = names.map((name) => subscribed.get(name)).filter((c) => c !== undefined);
    const ready = confirmed.length > 0 ? within(Promise.all(confirmed), SUBSCRIBE_WAIT_MS) : Promise.resolve();

    const iterator: Subscription = {
      ready,
      intercept(fn) {
        take = fn;
      },
      async next() {
        while (queue.length === 0 && !finished) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (overflowed) {
          queue.length = 0;
          throw new SlowConsumerError(`more than ${maxQueued} events were waiting for this subscriber`);
        }
        const value = queue.shift();
        return value ? { value, done: false } : { value: undefined, done: true };
      },
      async return() {
        finish();
        queue.length = 0;
        wake?.();
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]() {
        return iterator;
      },
    };
    return iterator;
  }
}
