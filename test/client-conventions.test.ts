// What real client libraries rely on: IDs that name one object each (normalized
// caches key objects by them), and a 401 for a credential the server refused
// (token-refreshing clients wait for it).
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, type NormalizedCacheObject } from '@apollo/client';
import { ErrorLink } from '@apollo/client/link/error';
import { isInterfaceType, isObjectType } from 'graphql';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { signToken } from '../src/auth/tokens.js';
import { decodeId, encodeId, ID_PREFIXES } from '../src/ids.js';
import { schema } from '../src/schema/index.js';
import { graphql } from './generated/index.js';
import { execute, JWT_SECRET, testApp } from './support/app.js';
import { createTeam, type TeamFixture } from './support/fixtures.js';
import { disposeLive, listening, subscribeSse, wsClient } from './support/live.js';
import { newTicket, UpdateTicket } from './support/operations.js';

let base: string;
beforeAll(async () => {
  base = await testApp().app.start(0);
});
afterAll(async () => {
  disposeLive();
  await testApp().app.stop();
});

const RenameAgent = graphql(`
  mutation RenameAgent($input: UpdateAgentInput!) { updateAgent(input: $input) { agent { id name } } }
`);

const TicketHistory = graphql(`
  query TicketHistory($id: ID!) {
    ticket(id: $id) {
      id
      assignee { id name }
      events(first: 50) {
        edges {
          node {
            id
            type
            actor {
              kind
              actorId
              name
              node { id ... on Agent { name } ... on ApiKey { name } ... on Customer { customerName: name } }
            }
          }
        }
      }
    }
  }
`);

const ActorNodes = graphql(`
  query ActorNodes($id: ID!) {
    ticket(id: $id) { events(first: 50) { edges { node { actor { node { id ... on Agent { name } ... on ApiKey { name } } } } } } }
  }
`);

const EventActor = graphql(`
  query EventActor($id: ID!) { node(id: $id) { ... on TicketEvent { type actor { kind actorId name } } } }
`);

const WhoAmI = graphql(`
  query WhoAmI { viewer { role } }
`);

const PublicSubmission = graphql(`
  mutation PublicSubmission($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }
`);

const node = schema.getType('Node');
if (!isInterfaceType(node)) throw new Error('Node is not an interface');
const NODE_TYPES = schema.getPossibleTypes(node).map((type) => type.name);

function apollo(authorization: string, options: { dataIdFromObject?: (object: Readonly<Record<string, unknown>>) => string | undefined } = {}) {
  return new ApolloClient({
    link: new HttpLink({ uri: `${base}/graphql`, headers: { authorization: `Bearer ${authorization}` } }),
    cache: new InMemoryCache({ possibleTypes: { Node: NODE_TYPES }, ...(options.dataIdFromObject && { dataIdFromObject: options.dataIdFromObject }) }),
  });
}

/** Every normalized entry of the cache is `Typename:id` (or just the id) with the prefix of its own type. */
function expectOwnPrefixes(store: NormalizedCacheObject, key: (typename: string, id: string) => string) {
  const entries = Object.entries(store).filter(([k]) => k !== 'ROOT_QUERY' && k !== 'ROOT_MUTATION');
  expect(entries.length).toBeGreaterThan(0);
  for (const [k, value] of entries) {
    const { __typename, id } = value as { __typename: string; id: string };
    expect(k).toBe(key(__typename, id));
    expect(id.startsWith(`${ID_PREFIXES[__typename as keyof typeof ID_PREFIXES]}_`), `${k} holds a ${__typename}`).toBe(true);
  }
}

/**
 * A ticket whose history has two changes by one agent, renamed in between and
 * once more afterwards: "Alex Agent" assigned it to themself, "Alexandra Agent"
 * raised its priority, and the agent is now "Sasha Agent".
 */
async function renamedActorHistory(t: TeamFixture) {
  const agentId = encodeId('Agent', t.agent.id);
  const rename = async (name: string) => (await execute(RenameAgent, { as: t.tokens.admin, variables: { input: { id: agentId, name } } })).ok();
  const ticket = await newTicket(t.keys.write, { title: 'Printer on fire' });
  (await execute(UpdateTicket, { as: t.tokens.agent, variables: { input: { id: ticket.id, assigneeId: agentId } } })).ok();
  await rename('Alexandra Agent');
  (await execute(UpdateTicket, { as: t.tokens.agent, variables: { input: { id: ticket.id, priority: 'HIGH' } } })).ok();
  await rename('Sasha Agent');
  return { ticketId: ticket.id, agentId };
}

describe('Actor names no other object', () => {
  test('every object type with an id is a Node whose id carries its own prefix, and no two types share one', () => {
    const withId = Object.values(schema.getTypeMap())
      .filter((type) => isObjectType(type) && !type.name.startsWith('__') && 'id' in type.getFields())
      .map((type) => type.name)
      .sort();
    expect(withId).toEqual([...NODE_TYPES].sort());
    for (const name of withId) expect(ID_PREFIXES, `${name} has an ID prefix`).toHaveProperty(name);
    const prefixes = withId.map((name) => ID_PREFIXES[name as keyof typeof ID_PREFIXES]);
    expect(new Set(prefixes).size).toBe(prefixes.length);
    // Relay's own id field encodes with the type's name (encodeGlobalId), for every Node.
    expect(Object.keys(ID_PREFIXES).sort()).toEqual(withId);
  });

  test('Apollo InMemoryCache: each event keeps the name its actor had; the assignee shows the name it has now', async () => {
    const t = await createTeam();
    const { ticketId, agentId } = await renamedActorHistory(t);
    const client = apollo(t.tokens.admin);
    const { data } = await client.query({ query: TicketHistory, variables: { id: ticketId } });
    const ticket = data!.ticket!;
    expect(ticket.assignee).toMatchObject({ id: agentId, name: 'Sasha Agent' });
    const byAgent = ticket.events!.edges.map((e) => e.node).filter((e) => e.actor?.kind === 'AGENT');
    expect(byAgent.map((e) => [e.type, e.actor!.name])).toEqual([
      ['UPDATED', 'Alex Agent'],
      ['ASSIGNED', 'Alex Agent'],
      ['UPDATED', 'Alexandra Agent'],
    ]);
    for (const e of byAgent) {
      expect(e.actor!.actorId).toBe(agentId);
      expect(e.actor!.node).toMatchObject({ __typename: 'Agent', id: agentId, name: 'Sasha Agent' });
    }
    // Read back from the normalized store, not from the network response.
    const cached = client.readQuery({ query: TicketHistory, variables: { id: ticketId } })!.ticket!;
    expect(cached.events!.edges.map((e) => e.node.actor?.name)).toEqual(ticket.events!.edges.map((e) => e.node.actor?.name));
    expect(client.cache.readFragment({ id: `Agent:${agentId}`, fragment: AgentName })).toEqual({ __typename: 'Agent', name: 'Sasha Agent' });
    const store = client.cache.extract() as NormalizedCacheObject;
    expect(Object.keys(store).filter((k) => k.startsWith('Actor'))).toEqual([]);
    expectOwnPrefixes(store, (typename, id) => `${typename}:${id}`);
  });

  test('a cache keyed by id alone (as Relay\'s store is) holds the agent once, with its current name', async () => {
    const t = await createTeam();
    const { ticketId, agentId } = await renamedActorHistory(t);
    const client = apollo(t.tokens.admin, { dataIdFromObject: (o) => (typeof o.id === 'string' ? o.id : undefined) });
    await client.query({ query: TicketHistory, variables: { id: ticketId } });
    const cached = client.readQuery({ query: TicketHistory, variables: { id: ticketId } })!.ticket!;
    expect(cached.assignee).toMatchObject({ id: agentId, name: 'Sasha Agent' });
    expect(cached.events!.edges.map((e) => e.node.actor?.name)).toEqual(['READ+WRITE', 'Alex Agent', 'Alex Agent', 'Alexandra Agent']);
    expectOwnPrefixes(client.cache.extract() as NormalizedCacheObject, (_typename, id) => id);
  });

  test('actorId and node for each kind of actor; an API key is a node for admins only', async () => {
    const t = await createTeam({ acceptsPublicTickets: true });
    const byKey = await newTicket(t.keys.write, { title: 'By key' });
    const byCustomer = (await execute(PublicSubmission, { as: t.tokens.customer, variables: { input: { title: 'By customer' } } })).ok().createTicket;
    const anonymous = (await execute(PublicSubmission, { variables: { input: { title: 'By anyone', body: 'Hi', teamSlug: t.team.slug, customer: { email: 'someone@example.com' } } } })).ok();
    const actorOf = async (ticketId: string, as: string) =>
      (await execute(TicketHistory, { as, variables: { id: ticketId } })).ok().ticket!.events!.edges[0]!.node.actor;
    const keyRow = await testApp().db.apiKey.findFirstOrThrow({ where: { teamId: t.team.id, name: 'READ+WRITE' } });
    const keyId = encodeId('ApiKey', keyRow.id);

    expect(await actorOf(byKey.id, t.keys.admin)).toEqual({ kind: 'API_KEY', actorId: keyId, name: 'READ+WRITE', node: { id: keyId, name: 'READ+WRITE' } });
    // Agents see who did it, not the key itself (ApiKey is an admin-only type).
    expect(await actorOf(byKey.id, t.tokens.agent)).toEqual({ kind: 'API_KEY', actorId: keyId, name: 'READ+WRITE', node: null });
    const customerId = encodeId('Customer', t.customer.id);
    expect(await actorOf(byCustomer.ticketId, t.keys.read)).toEqual({ kind: 'CUSTOMER', actorId: customerId, name: 'Jane Doe', node: { id: customerId, customerName: 'Jane Doe' } });
    expect(await actorOf(anonymous.createTicket.ticketId, t.keys.read)).toEqual({ kind: 'ANONYMOUS', actorId: null, name: null, node: null });
  });

  test('a page of events reads its actors\' objects in one query per type, each actor once', async () => {
    const t = await createTeam();
    const { ticketId } = await renamedActorHistory(t);
    (await execute(UpdateTicket, { as: t.tokens.admin, variables: { input: { id: ticketId, priority: 'LOW' } } })).ok();
    const { sql } = testApp();
    sql.length = 0;
    const events = (await execute(ActorNodes, { as: t.keys.admin, variables: { id: ticketId } })).ok().ticket!.events!.edges;
    expect(events.map((e) => e.node.actor?.node)).toEqual([
      expect.objectContaining({ name: 'READ+WRITE' }),
      ...Array(3).fill(expect.objectContaining({ name: 'Sasha Agent' })),
      expect.objectContaining({ name: 'Ada Admin' }),
    ]);
    expect(sql.filter((s) => s.includes('FROM "public"."agents"'))).toHaveLength(1);
    expect(sql.filter((s) => s.startsWith('SELECT') && s.includes('FROM "public"."api_keys"'))).toHaveLength(1);
  });

  test('a deleted agent: the event keeps actorId and the name; node is null', async () => {
    const t = await createTeam();
    const { ticketId, agentId } = await renamedActorHistory(t);
    await testApp().db.ticket.update({ where: { id: decodeId(ticketId)!.uuid }, data: { assigneeId: null } });
    await testApp().db.agent.delete({ where: { id: t.agent.id } });
    const events = (await execute(TicketHistory, { as: t.keys.read, variables: { id: ticketId } })).ok().ticket!.events!.edges;
    expect(events[1]!.node.actor).toEqual({ kind: 'AGENT', actorId: agentId, name: 'Alex Agent', node: null });
  });

  test('customers still never see the actor of an event', async () => {
    const t = await createTeam();
    const ticket = (await execute(PublicSubmission, { as: t.tokens.customer, variables: { input: { title: 'Mine' } } })).ok().createTicket;
    const event = await testApp().db.ticketEvent.findFirstOrThrow({ where: { ticketId: decodeId(ticket.ticketId)!.uuid } });
    const res = await execute(EventActor, { as: t.tokens.customer, variables: { id: encodeId('TicketEvent', event.id) } });
    expect(res.fails('FORBIDDEN').path).toEqual(['node', 'actor']);
  });
});

const AgentName = graphql(`
  fragment AgentName on Agent { name }
`);

describe('a refused credential answers 401 before execution', () => {
  const post = (authorization: string | undefined, body: unknown, accept = 'application/graphql-response+json') =>
    fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept, ...(authorization && { authorization }) },
      body: JSON.stringify(body),
    });

  test.each([
    ['an unknown API key', 'Bearer sk_live_00000000000000000000000000000000', 'Invalid API key'],
    ['a malformed API key', 'Bearer sk_live_short', 'Invalid API key'],
    ['a token signed with another secret', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl', 'Invalid or expired token'],
    ['garbage', 'Bearer garbage', 'Invalid or expired token'],
  ])('%s: 401, WWW-Authenticate: Bearer, UNAUTHENTICATED in a GraphQL response', async (_what, authorization, message) => {
    const res = await post(authorization, { query: '{ viewer { role } }' });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ticketql", error="invalid_token"');
    const body = await res.json();
    expect(body).toEqual({ errors: [{ message, extensions: { code: 'UNAUTHENTICATED' } }], extensions: { requestId: res.headers.get('x-request-id') } });
  });

  test('an expired token; a mutation with an Idempotency-Key: both 401, nothing written', async () => {
    const t = await createTeam();
    const expired = await signToken(JWT_SECRET, { sub: encodeId('Agent', t.agent.id), team: t.teamId, role: 'agent', email: t.agent.email }, '-1m');
    const res = await post(`Bearer ${expired}`, { query: '{ viewer { role } }' });
    expect([res.status, (await res.json()).errors[0].message]).toEqual([401, 'Invalid or expired token']);
    const mutation = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${expired}`, 'idempotency-key': 'k-401' },
      body: JSON.stringify({ query: 'mutation { createTicket(input: { title: "Nope" }) { ticketId } }' }),
    });
    expect(mutation.status).toBe(401);
    expect(await testApp().db.ticket.count({ where: { teamId: t.team.id } })).toBe(0);
  });

  test('another scheme than Bearer: 401 with a plain Bearer challenge', async () => {
    const res = await post('Basic dXNlcjpwYXNz', { query: '{ viewer { role } }' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer realm="ticketql"');
    expect((await res.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('a client that accepts only application/json gets 401 in application/json', async () => {
    const res = await post('Bearer sk_live_00000000000000000000000000000000', { query: '{ viewer { role } }' }, 'application/json');
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect((await res.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('no credential at all is not refused: public submissions work, other fields answer UNAUTHENTICATED within a 200', async () => {
    const t = await createTeam({ acceptsPublicTickets: true });
    const who = await post(undefined, { query: '{ viewer { role } }' });
    expect(who.status).toBe(200);
    expect(who.headers.get('www-authenticate')).toBeNull();
    expect(await who.json()).toMatchObject({ data: null, errors: [{ path: ['viewer'], extensions: { code: 'UNAUTHENTICATED' } }] });
    const submitted = await execute(PublicSubmission, { variables: { input: { title: 'Anon', body: 'Hi', teamSlug: t.team.slug, customer: { email: 'anon@example.com' } } } });
    expect(submitted.status).toBe(200);
    expect(submitted.ok().createTicket.ticketId).toMatch(/^tkt_/);
  });

  test('over SSE: 401 before any stream starts; a good key gets the stream', async () => {
    const t = await createTeam();
    const subscription = { query: 'subscription { ticketEvents { type } }' };
    const refused = await post('Bearer sk_live_00000000000000000000000000000000', subscription, 'text/event-stream');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('content-type')).toBe('application/graphql-response+json; charset=utf-8');
    expect(refused.headers.get('www-authenticate')).toBe('Bearer realm="ticketql", error="invalid_token"');
    expect((await refused.json()).errors[0].extensions.code).toBe('UNAUTHENTICATED');

    const live = subscribeSse(base, t.keys.read, subscription.query);
    await listening(t.team.id, 1);
    const ticket = await newTicket(t.keys.write, { title: 'Live' });
    expect((await live.waitFor(1))[0]!.data).toEqual({ ticketEvents: { type: 'CREATED' } });
    live.stop();
    expect(ticket.id).toMatch(/^tkt_/);
  });

  test('over graphql-ws a bad credential still closes the socket with 4403', async () => {
    expect((await wsClient(base, 'sk_live_00000000000000000000000000000000').closed).code).toBe(4403);
  });

  test('Apollo Client: a link that refreshes the token on 401 retries and succeeds', async () => {
    const t = await createTeam();
    const seen: number[] = [];
    let token = 'expired-or-revoked';
    const auth = new ApolloLink((operation, forward) => {
      operation.setContext({ headers: { authorization: `Bearer ${token}` } });
      return forward(operation);
    });
    const refresh = new ErrorLink(({ operation, forward }) => {
      const status = (operation.getContext().response as Response | undefined)?.status;
      if (status !== undefined) seen.push(status);
      if (status !== 401) return;
      token = t.keys.read;
      return forward(operation);
    });
    const client = new ApolloClient({ link: ApolloLink.from([refresh, auth, new HttpLink({ uri: `${base}/graphql` })]), cache: new InMemoryCache() });
    const { data } = await client.query({ query: WhoAmI });
    expect(data).toEqual({ viewer: { __typename: 'Viewer', role: 'AGENT' } });
    expect(seen).toEqual([401]);
  });
});
