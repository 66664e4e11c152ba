// Who is on a ticket and doing what. Ephemeral by design: heartbeats write entries
// that expire, in Redis (one hash per ticket, with a TTL) when the server has it,
// in this process's memory otherwise, and never in PostgreSQL, the event log,
// emails or webhooks. Each change publishes the ticket's whole presence on the bus,
// so every process's subscribers receive one shared object per change.
import type { Redis } from 'ioredis';
import type { BusEvent, EventBus, PresenceEntry, PresenceNotice, PresenceState, Subscription } from './bus.js';
import { within } from './within.js';

/** Who a heartbeat comes from. */
export type Participant = Pick<PresenceEntry, 'kind' | 'id' | 'name'>;

/** A ticket's presence: its live entries, and the version of the change that made them. */
export type TicketPresenceState = Pick<PresenceNotice, 'teamId' | 'ticketId' | 'version' | 'entries'>;

export type PresenceOptions = {
  bus: EventBus;
  /** Redis for entries shared by every process; without it, entries live in this process. */
  redis?: Redis;
  /** How long an entry holds without a heartbeat. @default 30000 */
  ttlMs?: number;
  /** Heartbeats of one caller on one ticket closer together than this are coalesced. @default 1000 */
  coalesceMs?: number;
  onError?: (err: unknown) => void;
};

export type Presence = {
  ttlMs: number;
  /**
   * A heartbeat. The first of a caller's heartbeats on a ticket in each `coalesceMs`
   * is stored and published; later ones in that window are not, but when the last of
   * them changed the state, that state is stored as the window ends.
   */
  beat(teamId: string, ticketId: string, who: Participant, state: PresenceState): Promise<{ stored: boolean; presence: TicketPresenceState }>;
  /** Removes the caller's entry at once (they disconnected). */
  leave(teamId: string, ticketId: string, who: Participant): Promise<void>;
  /** The current presence of each ticket. */
  read(teamId: string, ticketIds: readonly string[]): Promise<Map<string, TicketPresenceState>>;
  /**
   * The ticket's presence now, then each change and each expiry of the entries `shown`
   * accepts (a heartbeat that only renews an entry is not a change); ends when the
   * caller returns.
   */
  watch(
    teamId: string,
    ticketId: string,
    options?: { shown?: (entry: PresenceEntry) => boolean; endsWith?: (event: BusEvent) => boolean },
  ): AsyncGenerator<TicketPresenceState>;
  /** Stops pending trailing writes (shutdown). */
  close(): void;
};

const keyOf = (who: Participant) => `${who.kind}:${who.id}`;
const VERSION_FIELD = '#version';

/** Entries still valid at `now`. */
const live = (entries: PresenceEntry[], now: number) => entries.filter((e) => e.expiresAt > now);

// The write, atomically: a version that only grows (at least Redis's clock in µs, so
// it keeps growing after the hash expired), the entry set or removed, the hash's TTL
// renewed, and every entry returned for the notice.
const WRITE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local old = tonumber(redis.call('HGET', KEYS[1], '${VERSION_FIELD}') or '0')
local v = string.format('%.0f', math.max(old + 1, now))
if ARGV[2] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
redis.call('HSET', KEYS[1], '${VERSION_FIELD}', v)
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {v, redis.call('HGETALL', KEYS[1])}
`;

type Backend = {
  write(ticketId: string, key: string, entry: PresenceEntry | null): Promise<{ version: number; entries: PresenceEntry[] }>;
  read(ticketIds: readonly string[]): Promise<Array<{ version: number; entries: PresenceEntry[] }>>;
  /** True for the first heartbeat of `key` on the ticket within the window (and starts a new window). */
  opensWindow(ticketId: string, key: string): Promise<boolean>;
};

function fromHash(flat: string[] | Record<string, string>, now: number) {
  const pairs = Array.isArray(flat) ? flat : Object.entries(flat).flat();
  let version = 0;
  const entries: PresenceEntry[] = [];
  for (let i = 0; i < pairs.length; i += 2) {
    if (pairs[i] === VERSION_FIELD) version = Number(pairs[i + 1]);
    else entries.push(JSON.parse(pairs[i + 1]!) as PresenceEntry);
  }
  return { version, entries: live(entries, now) };
}

function redisBackend(redis: Redis, ttlMs: number, coalesceMs: number): Backend {
  const hash = (ticketId: string) => `ticketql:presence:${ticketId}`;
  return {
    async write(ticketId, key, entry) {
      const [version, flat] = (await redis.eval(WRITE_SCRIPT, 1, hash(ticketId), key, entry ? JSON.stringify(entry) : '', String(ttlMs))) as [
        string,
        string[],
      ];
      return { version: Number(version), entries: fromHash(flat, Date.now()).entries };
    },
    async read(ticketIds) {
      if (ticketIds.length === 0) return [];
      const pipeline = redis.pipeline();
      for (const id of ticketIds) pipeline.hgetall(hash(id));
      const results = (await pipeline.exec()) ?? [];
      const now = Date.now();
      return results.map(([err, value]) => {
        if (err) throw err;
        return fromHash(value as Record<string, string>, now);
      });
    },
    async opensWindow(ticketId, key) {
      return (await redis.set(`ticketql:presence-beat:${ticketId}:${key}`, '1', 'PX', coalesceMs, 'NX')) === 'OK';
    },
  };
}

function memoryBackend(coalesceMs: number): Backend {
  const tickets = new Map<string, { version: number; entries: Map<string, PresenceEntry> }>();
  const windows = new Map<string, number>();
  return {
    async write(ticketId, key, entry) {
      const now = Date.now();
      const ticket = tickets.get(ticketId) ?? { version: 0, entries: new Map() };
      ticket.version = Math.max(ticket.version + 1, now * 1000);
      if (entry) ticket.entries.set(key, entry);
      else ticket.entries.delete(key);
      for (const [k, e] of ticket.entries) if (e.expiresAt <= now) ticket.entries.delete(k);
      // An empty ticket is forgotten; its version is still surpassed by the next (time-based) one.
      if (ticket.entries.size === 0) tickets.delete(ticketId);
      else tickets.set(ticketId, ticket);
      return { version: ticket.version, entries: [...ticket.entries.values()] };
    },
    async read(ticketIds) {
      const now = Date.now();
      return ticketIds.map((id) => {
        const ticket = tickets.get(id);
        return ticket ? { version: ticket.version, entries: live([...ticket.entries.values()], now) } : { version: 0, entries: [] };
      });
    },
    async opensWindow(ticketId, key) {
      const now = Date.now();
      const name = `${ticketId}:${key}`;
      if ((windows.get(name) ?? 0) > now) return false;
      windows.set(name, now + coalesceMs);
      // Windows that ended are of no use: the map holds only the last second's callers.
      for (const [k, until] of windows) if (until <= now) windows.delete(k);
      return true;
    },
  };
}

// The presence after its earliest entry expired. Subscribers of a process that hold
// the same notice get the same object for the same expiry, so they still share one
// execution (plugins/shared-live-results.ts).
const expiries = new WeakMap<TicketPresenceState, Map<number, TicketPresenceState>>();
function expired(presence: TicketPresenceState, at: number): TicketPresenceState {
  let byTime = expiries.get(presence);
  if (!byTime) expiries.set(presence, (byTime = new Map()));
  let next = byTime.get(at);
  if (!next) byTime.set(at, (next = { ...presence, entries: live(presence.entries, at) }));
  return next;
}

/** What a subscriber sees change: who, doing what since when; not how long the entry holds. */
const signatureOf = (presence: TicketPresenceState, shown: (entry: PresenceEntry) => boolean) =>
  JSON.stringify(presence.entries.filter(shown).map((e) => [e.kind, e.id, e.name, e.state, e.since]).sort());

async function* watchOf(
  teamId: string,
  ticketId: string,
  subscription: Subscription,
  read: Reader,
  shown: (entry: PresenceEntry) => boolean,
  endsWith: (event: BusEvent) => boolean,
): AsyncGenerator<TicketPresenceState> {
  try {
    await subscription.ready;
    let presence = await read(teamId, ticketId);
    let seen = signatureOf(presence, shown);
    yield presence;
    /** The new presence, when it changes what the subscriber sees. */
    const changed = (next: TicketPresenceState) => {
      presence = next;
      const signature = signatureOf(next, shown);
      if (signature === seen) return false;
      seen = signature;
      return true;
    };
    let pending: ReturnType<Subscription['next']> | undefined;
    for (;;) {
      pending ??= subscription.next();
      // The next entry to lapse, if any: then the presence without it is sent.
      const expiry = presence.entries.length > 0 ? Math.min(...presence.entries.map((e) => e.expiresAt)) : undefined;
      const next = expiry === undefined ? await pending : await within(pending, expiry - Date.now());
      if (!next) {
        if (changed(expired(presence, expiry!))) yield presence;
        continue;
      }
      pending = undefined;
      if (next.done) return;
      const notice = next.value;
      if (endsWith(notice)) return;
      // Back on Redis after a cut: what changed meanwhile is read again.
      if (notice.kind === 'resync') {
        const now = await read(teamId, ticketId);
        if (now.version > presence.version && changed(now)) yield presence;
        continue;
      }
      if (notice.kind !== 'presence' || notice.version <= presence.version) continue;
      if (changed(notice)) yield presence;
    }
  } finally {
    await subscription.return();
  }
}

type Reader = (teamId: string, ticketId: string) => Promise<TicketPresenceState>;

export function createPresence(options: PresenceOptions): Presence {
  const ttlMs = options.ttlMs ?? 30_000;
  const coalesceMs = options.coalesceMs ?? 1000;
  const onError = options.onError ?? (() => {});
  const backend = options.redis ? redisBackend(options.redis, ttlMs, coalesceMs) : memoryBackend(coalesceMs);
  /** States that came inside a window and wait for its end, per ticket and caller. */
  const trailing = new Map<string, { state: PresenceState; timer: NodeJS.Timeout }>();

  async function store(teamId: string, ticketId: string, who: Participant, state: PresenceState | null, previous?: PresenceEntry) {
    const now = Date.now();
    const entry: PresenceEntry | null = state && {
      ...who,
      state,
      since: previous?.state === state ? previous.since : now,
      expiresAt: now + ttlMs,
    };
    const written = await backend.write(ticketId, keyOf(who), entry);
    const notice: PresenceNotice = { kind: 'presence', teamId, ticketId, ...written };
    options.bus.publish(notice);
    return notice;
  }

  async function current(teamId: string, ticketId: string): Promise<TicketPresenceState> {
    const [found] = await backend.read([ticketId]);
    return { teamId, ticketId, ...found! };
  }

  return {
    ttlMs,
    async beat(teamId, ticketId, who, state) {
      const key = `${ticketId}:${keyOf(who)}`;
      if (!(await backend.opensWindow(ticketId, keyOf(who)))) {
        const presence = await current(teamId, ticketId);
        const mine = presence.entries.find((e) => keyOf(e) === keyOf(who));
        const waiting = trailing.get(key);
        if (waiting) clearTimeout(waiting.timer);
        trailing.delete(key);
        if (mine?.state !== state) {
          const timer = setTimeout(() => {
            trailing.delete(key);
            void backend
              .opensWindow(ticketId, keyOf(who))
              .then(() => current(teamId, ticketId))
              .then((now) => store(teamId, ticketId, who, state, now.entries.find((e) => keyOf(e) === keyOf(who))))
              .catch(onError);
          }, coalesceMs);
          timer.unref();
          trailing.set(key, { state, timer });
        }
        return { stored: false, presence };
      }
      const waiting = trailing.get(key);
      if (waiting) clearTimeout(waiting.timer);
      trailing.delete(key);
      const before = await current(teamId, ticketId);
      const presence = await store(teamId, ticketId, who, state, before.entries.find((e) => keyOf(e) === keyOf(who)));
      return { stored: true, presence };
    },

    async leave(teamId, ticketId, who) {
      const key = `${ticketId}:${keyOf(who)}`;
      const waiting = trailing.get(key);
      if (waiting) clearTimeout(waiting.timer);
      trailing.delete(key);
      await store(teamId, ticketId, who, null);
    },

    async read(teamId, ticketIds) {
      const found = await backend.read(ticketIds);
      return new Map(ticketIds.map((ticketId, i) => [ticketId, { teamId, ticketId, ...found[i]! }]));
    },

    watch(teamId, ticketId, { shown = () => true, endsWith = () => false } = {}) {
      // Listening first, then reading: a change in between arrives as a newer version.
      const subscription = options.bus.presence(teamId, ticketId);
      const stream = watchOf(teamId, ticketId, subscription, current, shown, endsWith);
      const end = stream.return.bind(stream);
      // Ending the bus subscription first wakes a stream that waits for the next notice.
      return Object.assign(stream, {
        async return(value?: TicketPresenceState) {
          await subscription.return();
          return end(value as never);
        },
      });
    },

    close() {
      for (const { timer } of trailing.values()) clearTimeout(timer);
      trailing.clear();
    },
  };
}
