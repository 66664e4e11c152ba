// Credential lookups (an API key by its hash, a token's agent or customer), kept for
// a second: every request resolves its credential, and the lookup's round trip to
// PostgreSQL is a fixed part of a small request's CPU (see BENCHMARKS.md).
//
// A cached credential must not outlive its revocation. Two things see to that:
// - the bus: a `credential-revoked`, `credential-changed` (an agent's or customer's
//   name, email or role) or `team-deleted` event, announced by the process that made
//   the change after its commit and carried to every process by Redis, drops all of
//   the team's entries at once (each process listens from its first cached entry on);
// - the TTL: an entry is at most CREDENTIAL_TTL_MS old, so even an event lost with
//   Redis away, or a change made behind the API's back, takes effect within a second.
// Refusals are never cached (a new key works at once, and garbage cannot fill the
// cache), and a lookup that was in flight while entries were dropped is not cached.
import { LRUCache } from 'lru-cache';

export const CREDENTIAL_TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;

/** Starts listening for credential changes (of any team); returns how to stop. */
export type WatchCredentials = (changed: (teamId: string) => void) => () => void;

export type CredentialCache = {
  /** A cached row. */
  get<Row>(key: string): Row | undefined;
  /** Where a lookup starts from: `set` keeps its row only if nothing was dropped since. */
  generation(): number;
  /** Caches a looked-up row, unless entries were dropped since `generation`. */
  set(teamId: string, key: string, row: object, generation: number): void;
  /**
   * The lookup of `key` already on its way, if it started after the last drop, else
   * `read()`: requests that miss the same credential at once (ten clients when its entry
   * lapses) share one round trip, and none shares a lookup older than a revocation.
   */
  shared<Row>(key: string, read: () => Promise<Row | undefined>): Promise<Row | undefined>;
  /** Drops every entry and stops listening. */
  clear(): void;
};

export function createCredentialCache(watch: WatchCredentials): CredentialCache {
  let generation = 0;
  let stop: (() => void) | undefined;
  /** The cached keys of each team. */
  const teams = new Map<string, Set<string>>();
  const entries = new LRUCache<string, { teamId: string; row: object }>({
    max: MAX_ENTRIES,
    ttl: CREDENTIAL_TTL_MS,
    // Two lookups of one credential may both miss and both store it: the second
    // replaces the first's row, and the team keeps its key.
    noDisposeOnSet: true,
    dispose: ({ teamId }, key) => {
      const keys = teams.get(teamId);
      keys?.delete(key);
      if (keys?.size === 0) teams.delete(teamId);
    },
  });

  const flights = new Map<string, { generation: number; lookup: Promise<unknown> }>();

  const dropTeam = (teamId: string) => {
    generation++;
    for (const key of [...(teams.get(teamId) ?? [])]) entries.delete(key);
  };

  return {
    get: <Row>(key: string) => entries.get(key)?.row as Row | undefined,
    generation: () => generation,
    set(teamId, key, row, startedAt) {
      if (startedAt !== generation) return;
      stop ??= watch(dropTeam);
      let keys = teams.get(teamId);
      if (!keys) teams.set(teamId, (keys = new Set()));
      keys.add(key);
      entries.set(key, { teamId, row });
    },
    shared<Row>(key: string, read: () => Promise<Row | undefined>) {
      const flight = flights.get(key);
      if (flight?.generation === generation) return flight.lookup as Promise<Row | undefined>;
      const lookup = read();
      flights.set(key, { generation, lookup });
      const land = () => {
        if (flights.get(key)?.lookup === lookup) flights.delete(key);
      };
      lookup.then(land, land);
      return lookup;
    },
    clear() {
      generation++;
      entries.clear();
      teams.clear();
      stop?.();
      stop = undefined;
    },
  };
}
