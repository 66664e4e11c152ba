import { describe, expect, test } from 'vitest';
import { encodeId } from '../src/ids.js';
import { graphql } from './generated/index.js';
import { execute, testApp } from './support/app.js';
import { createTeam } from './support/fixtures.js';

const ViewerQuery = graphql(`
  query Viewer {
    viewer {
      role
      scopes
      name
      team { id name slug }
    }
  }
`);

const NodeQuery = graphql(`
  query Node($id: ID!) {
    node(id: $id) {
      __typename
      id
      ... on Team { slug }
      ... on Agent { agentEmail: email }
      ... on Customer { email }
    }
  }
`);

const NodesQuery = graphql(`
  query Nodes($ids: [ID!]!) {
    nodes(ids: $ids) { __typename id }
  }
`);

describe('viewer', () => {
  test('an API key sees its role, scopes and team', async () => {
    const t = await createTeam();
    const data = (await execute(ViewerQuery, { as: t.keys.admin })).ok();
    expect(data.viewer).toEqual({
      role: 'ADMIN',
      scopes: ['READ', 'WRITE', 'DELETE', 'ADMIN'],
      name: 'READ+WRITE+DELETE+ADMIN',
      team: { id: t.teamId, name: t.team.name, slug: t.team.slug },
    });
    expect(t.teamId).toMatch(/^team_[0-9A-Za-z]{22}$/);
  });

  test('a key without ADMIN acts as an agent', async () => {
    const t = await createTeam();
    const data = (await execute(ViewerQuery, { as: t.keys.read })).ok();
    expect(data.viewer.role).toBe('AGENT');
    expect(data.viewer.scopes).toEqual(['READ']);
  });

  test('no credential is UNAUTHENTICATED', async () => {
    const res = await execute(ViewerQuery);
    expect(res.fails('UNAUTHENTICATED').message).toBe('A valid credential is required');
    expect(res.data?.viewer ?? null).toBeNull();
  });

  test('an unknown or malformed key is UNAUTHENTICATED', async () => {
    for (const bad of ['sk_live_00000000000000000000000000000000', 'sk_live_short', 'garbage.token.here']) {
      const res = await execute(ViewerQuery, { as: bad });
      res.fails('UNAUTHENTICATED');
      expect(res.data ?? null).toBeNull();
    }
  });

  test('a non-Bearer authorization header is UNAUTHENTICATED', async () => {
    const res = await execute(ViewerQuery, { headers: { authorization: 'Basic abc' } });
    res.fails('UNAUTHENTICATED');
  });

  test('people sign in with tokens: an agent token maps to its agent', async () => {
    const t = await createTeam();
    const data = (await execute(ViewerQuery, { as: t.tokens.agent })).ok();
    expect(data.viewer).toMatchObject({ role: 'AGENT', scopes: ['READ', 'WRITE'], name: 'Alex Agent' });
  });

  test('the secret is stored only as a hash', async () => {
    const t = await createTeam();
    const { db } = testApp();
    const rows = await db.$queryRaw<Array<{ hash: string; prefix: string }>>`
      SELECT hash, prefix FROM api_keys WHERE team_id = ${t.team.id}::uuid`;
    for (const row of rows) {
      expect(row.hash).toMatch(/^[0-9a-f]{64}$/);
      expect([t.keys.admin, t.keys.read, t.keys.write]).not.toContain(row.hash);
      expect(row.prefix).toHaveLength(12);
    }
  });
});

describe('node and nodes', () => {
  test('resolve prefixed IDs of the caller team', async () => {
    const t = await createTeam();
    const agentId = encodeId('Agent', t.agent.id);
    expect((await execute(NodeQuery, { as: t.keys.read, variables: { id: t.teamId } })).ok().node).toEqual({
      __typename: 'Team',
      id: t.teamId,
      slug: t.team.slug,
    });
    expect((await execute(NodeQuery, { as: t.keys.read, variables: { id: agentId } })).ok().node).toEqual({
      __typename: 'Agent',
      id: agentId,
      agentEmail: t.agent.email,
    });
    const customerId = encodeId('Customer', t.customer.id);
    const nodes = (await execute(NodesQuery, { as: t.keys.read, variables: { ids: [customerId, t.teamId] } })).ok();
    expect(nodes.nodes).toEqual([
      { __typename: 'Customer', id: customerId },
      { __typename: 'Team', id: t.teamId },
    ]);
  });

  test('another team’s node is null, exactly like a missing one', async () => {
    const mine = await createTeam();
    const theirs = await createTeam();
    const theirAgent = encodeId('Agent', theirs.agent.id);
    const missing = encodeId('Agent', '00000000-0000-7000-8000-000000000000');
    const a = (await execute(NodeQuery, { as: mine.keys.admin, variables: { id: theirAgent } })).ok();
    const b = (await execute(NodeQuery, { as: mine.keys.admin, variables: { id: missing } })).ok();
    expect(a).toEqual({ node: null });
    expect(b).toEqual({ node: null });
  });

  test('a malformed ID is BAD_USER_INPUT', async () => {
    const t = await createTeam();
    const res = await execute(NodeQuery, { as: t.keys.read, variables: { id: 'tkt_not-an-id' } });
    expect(res.fails('BAD_USER_INPUT').message).toContain('not a valid ID');
  });
});

describe('HTTP surface', () => {
  test('every response carries a request id, as a header and in extensions', async () => {
    const t = await createTeam();
    const base = await testApp().app.start(0);
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.read}` },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.json()).toEqual({ data: { viewer: { role: 'AGENT' } }, extensions: { requestId: id } });

    const given = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'req-42' },
      body: JSON.stringify({ query: '{ viewer { role } }' }),
    });
    expect(given.headers.get('x-request-id')).toBe('req-42');
    expect(((await given.json()) as { extensions: unknown }).extensions).toEqual({ requestId: 'req-42' });

    expect(await (await fetch(`${base}/healthz`)).json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ database: 'ok' });
  });
});
