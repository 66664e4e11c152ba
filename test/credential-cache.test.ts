// Credentials are cached for a second (src/auth/credential-cache.ts); a revocation
// announced on the bus drops the team's cached credentials on every process.
import { describe, expect, inject } from 'vitest';
import { createCredentialCache } from '../src/auth/credential-cache.js';
import { createEventBus } from '../src/live/bus.js';
import { connectRedis } from '../src/live/redis.js';
import { encodeId } from '../src/ids.js';
import { createLogger } from '../src/logger.js';
import { otherApp } from './support/app.js';
import { test } from './support/fixtures.js';
import { leftover } from './support/leftovers.js';
import { eventually } from './support/wait.js';

const WHO = '{ viewer { role } }';
const REVOKE = 'mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { revokedAt } } }';
const NEW_KEY = 'mutation { createApiKey(input: { name: "cached", scopes: [READ] }) { secret apiKey { id } } }';

/** An app of its own on the suite's database whose bus is Redis, as a second process would have it. */
function processOnRedis() {
  const redis = connectRedis(inject('redisUrl'), createLogger('silent'));
  leftover('redis clients', () => redis.close());
  return otherApp({ bus: createEventBus({ redis }) }).app;
}

async function post(app: ReturnType<typeof processOnRedis>, key: string, query: string, variables: Record<string, unknown> = {}) {
  const res = await app.yoga.fetch('http://ticketql.test/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: any; errors?: Array<{ extensions?: { code?: string } }> };
}

describe('cached credentials', () => {
  test('a key revoked through one process fails on the other, which had it cached', async ({ team }) => {
    const a = processOnRedis();
    const b = processOnRedis();
    const created = (await post(a, team.keys.admin, NEW_KEY)).data.createApiKey;
    // B looks the key up, and so caches it and listens to the team's changes.
    expect((await post(b, created.secret, WHO)).data.viewer.role).toBe('AGENT');
    expect((await post(b, created.secret, WHO)).data.viewer.role).toBe('AGENT');
    expect((await post(a, team.keys.admin, REVOKE, { id: created.apiKey.id })).data.revokeApiKey.apiKey.revokedAt).not.toBeNull();
    // The process that revoked it refuses it on the very next request.
    expect((await post(a, created.secret, WHO)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    // The other once Redis has carried the announcement (or the entry's second is over).
    await eventually(async () => (await post(b, created.secret, WHO)).errors?.[0]?.extensions?.code === 'UNAUTHENTICATED', {
      what: 'the revoked key to be refused by the other process',
    });
    // Other teams' and this team's other keys are unaffected.
    expect((await post(b, team.keys.read, WHO)).data.viewer.role).toBe('AGENT');
  });

  test('a team’s change drops its entries and only its own; a lookup that was in flight meanwhile is not kept', () => {
    let changed: ((teamId: string) => void) | undefined;
    let stopped = 0;
    const cache = createCredentialCache((listener) => {
      changed = listener;
      return () => stopped++;
    });
    expect(changed).toBeUndefined();
    cache.set('team-a', 'key:1', { id: 1 }, cache.generation());
    cache.set('team-a', 'key:2', { id: 2 }, cache.generation());
    cache.set('team-b', 'key:3', { id: 3 }, cache.generation());
    expect(cache.get('key:1')).toEqual({ id: 1 });

    const inFlight = cache.generation();
    changed!('team-a');
    expect(cache.get('key:1')).toBeUndefined();
    expect(cache.get('key:2')).toBeUndefined();
    expect(cache.get('key:3')).toEqual({ id: 3 });

    cache.set('team-a', 'key:1', { id: 1 }, inFlight);
    expect(cache.get('key:1')).toBeUndefined();
    cache.clear();
    expect(cache.get('key:3')).toBeUndefined();
    expect(stopped).toBe(1);
  });

  test('lookups of one credential at once share one read, but never one that began before a drop', async () => {
    let changed: ((teamId: string) => void) | undefined;
    const cache = createCredentialCache((listener) => {
      changed = listener;
      return () => {};
    });
    cache.set('team-a', 'key:0', { id: 0 }, cache.generation()); // listening from here on
    let reads = 0;
    const read = () => new Promise<{ read: number }>((resolve) => setImmediate(() => resolve({ read: ++reads })));
    const first = await Promise.all(Array.from({ length: 10 }, () => cache.shared('key:1', read)));
    expect(reads).toBe(1);
    expect(first).toEqual(Array.from({ length: 10 }, () => ({ read: 1 })));

    // A read on its way when the team's credentials are dropped is not shared with later lookups.
    const before = cache.shared('key:1', read);
    changed!('team-a');
    const after = cache.shared('key:1', read);
    expect([await before, await after]).toEqual([{ read: 2 }, { read: 3 }]);
    cache.clear();
  });

  test('a renamed agent acts under the new name at once, on the process that renamed them and on the others', async ({ team }) => {
    const a = processOnRedis();
    const b = processOnRedis();
    const agentId = encodeId('Agent', team.agent.id);
    const RENAME = 'mutation($id: ID!, $name: String!) { updateAgent(input: { id: $id, name: $name }) { agent { name } } }';
    const NAME = '{ viewer { name } }';
    expect((await post(b, team.tokens.agent, NAME)).data.viewer.name).toBe('Alex Agent');
    expect((await post(a, team.tokens.agent, NAME)).data.viewer.name).toBe('Alex Agent');
    expect((await post(a, team.tokens.admin, RENAME, { id: agentId, name: 'Alexandra Agent' })).data.updateAgent.agent.name).toBe('Alexandra Agent');
    expect((await post(a, team.tokens.agent, NAME)).data.viewer.name).toBe('Alexandra Agent');
    await eventually(async () => (await post(b, team.tokens.agent, NAME)).data.viewer.name === 'Alexandra Agent', {
      what: 'the other process to read the agent’s new name',
    });
  });
});
