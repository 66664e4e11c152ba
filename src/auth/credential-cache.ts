// Credential lookups (an API key by its hash, a token's agent or customer), kept for
// a second: every request resolves its credential, and the lookup's round trip to
// PostgreSQL is a fixed part of a small request's CPU (see BENCHMARKS.md).
//
// A cached credential must not outlive its revocation. Two things see to that:
// - the bus: while a team has cached credentials, this process listens to the team's
//   topic, and a `credential-revoked` or `team-deleted` event (announced by the
//   process that made the change, after its commit, and carried to every process by
//   Redis) drops all of the team's entries at once;
// - the TTL: an entry is at most CREDENTIAL_TTL_MS old, so even an event lost with
//   Redis away, or a change made behind the API's back, takes effect within a second.
// Refusals are never cached (a new key works at once, and garbage cannot fill the
// cache), and a lookup that was in flight while entries were dropped is not cached.
import { LRUCache } from 'lru-cache';

export const CREDENTIAL_TTL_MS = 1_000;
const MAX_ENTRIES = 10_000;

/** Starts listening for credential changes of a team; returns how to stop. */
export type WatchTeam = (teamId: string, changed: () => void) => () => void;

export type CredentialCache = {
  /** A cached row, and the generation a lookup for it starts from. */
  get<Row>(key: string): Row | undefined;
  generation(): number;
  /** Caches a looked-up row, unless entries were dropped since `generation`. */
  set(teamId: string, key: string, row: object, generation: number): void;
  /** Drops every entry and stops listening. */
  clear(): void;
};

export function createCredentialCache(watch: WatchTeam): CredentialCache {
  let generation = 0;
  const teams = new Map<string, { keys: Set<string>; stop: () => void }>();
  const entries = new LRUCache<string, { teamId: string; row: object }>({
    max: MAX_ENTRIES,
    ttl: CREDENTIAL_TTL_MS,
    // Two lookups of one credential may both miss and both store it: the second
    // replaces the first's row, and the team keeps its key.
    noDisposeOnSet: true,
    dispose: ({ teamId }, key) => {
      const team = teams.get(teamId);
      if (!team) return;
      team.keys.delete(key);
      if (team.keys.size === 0) {
        teams.delete(teamId);
        team.stop();
      }
    },
  });

  const dropTeam = (teamId: string) => {
    generation++;
    const team = teams.get(teamId);
    if (team) for (const key of [...team.keys]) entries.delete(key);
  };

  return {
    get: <Row>(key: string) => entries.get(key)?.row as Row | undefined,
    generation: () => generation,
    set(teamId, key, row, startedAt) {
      if (startedAt !== generation) return;
      let team = teams.get(teamId);
      if (!team) {
        const keys = new Set<string>();
        team = { keys, stop: () => {} };
        teams.set(teamId, team);
        let stopped = false;
        const stop = watch(teamId, () => dropTeam(teamId));
        team.stop = () => {
          if (!stopped) stop();
          stopped = true;
        };
      }
      team.keys.add(key);
      entries.set(key, { teamId, row });
    },
    clear() {
      generation++;
      entries.clear();
      for (const team of teams.values()) team.stop();
      teams.clear();
    },
  };
}
