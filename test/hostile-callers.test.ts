// Limits hold on every transport: HTTP, server-sent events and graphql-ws run the
// same cost limit, budget and persisted-operation policy; transport limits cap what
// a connection may hold or send; /metrics shows nothing a client chose.
import net from 'node:net';
import { createHash, randomUUID } from 'node:crypto';
import WebSocket from 'ws';
import { afterAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { buildApp, type AppOptions } from '../src/app.js';
import { createDb } from '../src/db.js';
import { createLogger } from '../src/logger.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { signToken } from '../src/auth/tokens.js';
import { encodeId } from '../src/ids.js';
import { JWT_SECRET } from './support/app.js';
import { createTeam } from './support/fixtures.js';
import { disposeLive, listeningOn, subscribe, subscribeSse, wsClient } from './support/live.js';
import { eventually } from './support/wait.js';

const apps: Array<{ stop(): Promise<void> }> = [];
afterAll(async () => {
  disposeLive();
  for (const app of apps.splice(0)) await app.stop();
});

/** A server of its own on a free port, with the given options. */
async function serve(options: Partial<AppOptions> = {}) {
  const db = createDb(inject('databaseUrl'), 3);
  const app = buildApp({ db, log: createLogger('silent'), jwtSecret: JWT_SECRET, ...options });
  const base = await app.start(0);
  apps.push({
    stop: async () => {
      await app.stop();
      await db.$disconnect();
    },
  });
  return { app, db, base };
}

async function post(base: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions: Record<string, any> }>; extensions?: Record<string, unknown> } };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

/** Twenty aliases of a page of tickets with their threads: far over the default cost limit. */
const COSTLY_SELECTION = Array.from(
  { length: 20 },
  (_, i) => `a${i}: ticket { messages(first: 100) { edges { node { ticket { messages(first: 100) { edges { node { id } } } } } } } }`,
).join(' ');

describe('the cost limit and the budget on every transport', () => {
  test('a selection refused as a query is refused as a subscription, over graphql-ws and over SSE', async () => {
    const { base } = await serve();
    const t = await createTeam();
    const query = await post(base, { query: `{ ${COSTLY_SELECTION.replace(/(a\d+): ticket \{/g, '$1: ticket(id: "tkt_0") {')} }` }, bearer(t.keys.read));
    expect(query.body.errors![0]!.extensions, JSON.stringify(query.body)).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 50_000 });

    const document = `subscription { ticketEvents { ${COSTLY_SELECTION} } }`;
    const ws = subscribe(wsClient(base, t.keys.read), document);
    await ws.completed;
    expect(ws.received).toHaveLength(1);
    expect(ws.received[0]!.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 50_000 });

    const sse = subscribeSse(base, t.keys.read, document);
    await sse.completed;
    expect(sse.received[0]!.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 50_000 });
  });

  test('each event a subscription delivers spends its cost; out of budget, it ends with RATE_LIMITED', async () => {
    // `ticketEvents { ticket { title } }` costs 2: the start and two events fit a budget of 6, the third does not.
    const { base } = await serve({ limits: { budget: 6 } });
    const t = await createTeam();
    const sub = subscribe(wsClient(base, t.keys.write), 'subscription { ticketEvents { type ticket { title } } }');
    // The first mutation costs the key 2 as well (on the same budget): use another credential to write.
    const create = (title: string) =>
      post(base, { query: 'mutation($t: String!) { createTicket(input: { title: $t, body: "b", customer: { email: "c@d.test" } }) { ticket { id } } }', variables: { t: title } }, bearer(t.keys.admin));
    await listeningOn(base, 1);
    for (const title of ['one', 'two', 'three']) expect((await create(title)).body.errors).toBeUndefined();
    await sub.completed;
    expect(sub.received.map((r) => r.data?.ticketEvents?.ticket?.title ?? r.errors?.[0]?.extensions?.code)).toEqual(['one', 'two', 'RATE_LIMITED']);
  });

  test('subscribers of one credential share its budget per event: the first ones are granted, in the order they subscribed', async () => {
    // `ticketEvents { type }` costs 1. Three starts and the first event spend 6 of 7; of the
    // second event only the first subscriber's fits, and the third event fits nobody.
    const { base } = await serve({ limits: { budget: 7 } });
    const t = await createTeam();
    const subs = [];
    for (let i = 1; i <= 3; i++) {
      subs.push(subscribe(wsClient(base, t.keys.read), 'subscription { ticketEvents(filter: { types: [CREATED] }) { type } }'));
      await listeningOn(base, i);
    }
    const create = (title: string) =>
      post(base, { query: 'mutation($t: String!) { createTicket(input: { title: $t }) { ticket { id } } }', variables: { t: title } }, bearer(t.keys.admin));
    for (const title of ['one', 'two', 'three']) expect((await create(title)).body.errors).toBeUndefined();
    await Promise.all(subs.map((sub) => sub.completed));
    expect(subs.map((sub) => sub.received.map((r) => r.data?.ticketEvents?.type ?? r.errors?.[0]?.extensions?.code))).toEqual([
      ['CREATED', 'CREATED', 'RATE_LIMITED'],
      ['CREATED', 'RATE_LIMITED'],
      ['CREATED', 'RATE_LIMITED'],
    ]);
  });

  test('an event sent after one that failed is paid for once, however it reaches the subscriber', async () => {
    // `ticketEvents { cursor occurredAt }` costs 1: the start, the failed event and the next fit a budget of 3.
    const { base, app, db } = await serve({ limits: { budget: 3 } });
    const t = await createTeam();
    const ticket = await db.ticket.create({ data: { teamId: t.team.id, number: 1, title: 'Paid once' } });
    const { eventSeq } = await db.team.update({ where: { id: t.team.id }, data: { eventSeq: { increment: 1 } } });
    const logged = await db.ticketEvent.create({
      data: { seq: eventSeq, teamId: t.team.id, ticketId: ticket.id, type: 'UPDATED', changedFields: ['title'], actor: { kind: 'SYSTEM' } },
    });
    const sub = subscribe(wsClient(base, t.keys.read), 'subscription { ticketEvents { cursor occurredAt } }');
    await listeningOn(base, 1);
    const live = (seq: bigint, id: string) => ({
      kind: 'ticket-event' as const, id, seq: String(seq), teamId: t.team.id, ticketId: ticket.id, customerId: null, messageId: null, isInternal: false, type: 'UPDATED' as const, changedFields: ['title'],
    });
    // The first names a row the log lacks (its result has an error); the third is over the budget.
    app.bus.publish(live(eventSeq + 1n, randomUUID()));
    app.bus.publish(live(eventSeq + 2n, logged.id));
    app.bus.publish(live(eventSeq + 3n, logged.id));
    await sub.completed;
    expect(sub.received.map((r) => r.errors?.[0]?.extensions?.code ?? r.data?.ticketEvents?.cursor)).toEqual([
      'INTERNAL_SERVER_ERROR',
      String(eventSeq + 2n),
      'RATE_LIMITED',
    ]);
  });

  test('connections cost their page size when `first` is not given, nodes(ids:) the number of IDs, at most 100', async () => {
    const { base } = await serve();
    const t = await createTeam();
    const cost = async (query: string) => (await post(base, { query: `{ rateLimit { cost } ${query} }` }, bearer(t.keys.read))).body;
    // rateLimit 1 + tickets 1 + 20 × (edges 1 + node 1)
    expect((await cost('tickets { edges { node { id } } }')).data.rateLimit.cost).toBe(42);
    expect((await cost('tickets(first: 20) { edges { node { id } } }')).data.rateLimit.cost).toBe(42);
    const ids = (n: number) => JSON.stringify(Array.from({ length: n }, () => t.teamId));
    // rateLimit 1 + nodes 1 + 3 IDs × slaTargets 1 (its scalars are free)
    expect((await cost(`nodes(ids: ${ids(3)}) { ... on Team { slaTargets { priority } } }`)).data.rateLimit.cost).toBe(5);
    const tooMany = await cost(`nodes(ids: ${ids(101)}) { id }`);
    expect(tooMany.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'ids', message: 'at most 100 IDs per request' }] });
  });
});

describe('every operation limit on every transport', () => {
  // Each document is a subscription, so that it can be sent over all three transports.
  const sub = (selection: string) => `subscription { ticketEvents { ${selection} } }`;
  const nest = (depth: number) => {
    let q = 'id';
    for (let i = 0; i < depth; i++) q = `customer { tickets(first: 1) { edges { node { ${q} } } } }`;
    return `ticket { ${q} }`;
  };
  const LIMITS = [
    ['depth', sub(nest(3)), /Query depth limit of 12 exceeded/],
    ['aliases', sub(Array.from({ length: 31 }, (_, i) => `a${i}: type`).join(' ')), /Aliases limit of 30 exceeded/],
    ['directives', sub(`type ${'@skip(if: false) '.repeat(21)}`), /Directives limit of 20 exceeded/],
    ['tokens', sub('type '.repeat(5000)), /Token limit of 5000 exceeded/],
    ['cost', sub(COSTLY_SELECTION), /Operation cost \d+ exceeds the limit of 50000/],
  ] as const;

  test.each(LIMITS)('%s: refused with QUERY_TOO_COMPLEX over HTTP, SSE and graphql-ws', async (_name, document, message) => {
    const { base } = await serve();
    const t = await createTeam();
    const answers = [];
    const http = await post(base, { query: document }, { ...bearer(t.keys.read), accept: 'application/graphql-response+json' });
    answers.push(http.body.errors![0]!);
    const sse = subscribeSse(base, t.keys.read, document);
    await sse.completed;
    answers.push(sse.received[0]!.errors![0]!);
    const ws = subscribe(wsClient(base, t.keys.read), document);
    await ws.completed;
    answers.push(ws.received[0]!.errors![0]!);
    for (const [i, answer] of answers.entries()) {
      expect(answer.message, `${['HTTP', 'SSE', 'graphql-ws'][i]}: ${JSON.stringify(answer)}`).toMatch(message);
      expect(answer.extensions, `${['HTTP', 'SSE', 'graphql-ws'][i]}: ${JSON.stringify(answer)}`).toMatchObject({ code: 'QUERY_TOO_COMPLEX' });
    }
  });
});

describe('persisted operations on every transport', () => {
  test('PERSISTED_OPERATIONS=only runs nothing but the allow-list over graphql-ws too', async () => {
    const allowed = 'query Allowed { viewer { role } }';
    const hash = createHash('sha256').update(allowed).digest('hex');
    const { base } = await serve({ persisted: { mode: 'only', manifest: new Map([[hash, allowed]]) } });
    const t = await createTeam();
    const client = wsClient(base, t.keys.read);
    const refused = subscribe(client, '{ viewer { role team { name } } }');
    await refused.completed;
    expect(refused.received[0]!.errors![0]!.extensions).toMatchObject({ code: 'PERSISTED_QUERY_NOT_FOUND' });

    const byHash = await new Promise<unknown>((resolve, reject) => {
      client.subscribe({ query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hash } } }, { next: resolve, error: reject, complete: () => {} });
    });
    expect(byHash).toEqual({ data: { viewer: { role: 'AGENT' } } });
  });

  test('an anonymous caller cannot park documents in the APQ store', async () => {
    const { base } = await serve();
    const t = await createTeam();
    const query = '{ __typename anonymousParked: __typename }';
    const persistedQuery = { version: 1, sha256Hash: createHash('sha256').update(query).digest('hex') };
    expect((await post(base, { query, extensions: { persistedQuery } })).body.data).toEqual({ __typename: 'Query', anonymousParked: 'Query' });
    expect((await post(base, { extensions: { persistedQuery } })).body.errors![0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    // A credential's registration is kept.
    expect((await post(base, { query, extensions: { persistedQuery } }, bearer(t.keys.read))).body.errors).toBeUndefined();
    expect((await post(base, { extensions: { persistedQuery } })).body.data).toEqual({ __typename: 'Query', anonymousParked: 'Query' });
  });
});

describe('transport limits', () => {
  test('a WebSocket message larger than the body limit closes the socket before authentication (1009)', async () => {
    const { base } = await serve({ maxBodyBytes: 64 * 1024 });
    const socket = new WebSocket(`${base.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', resolve));
    socket.send(JSON.stringify({ type: 'connection_init', payload: { pad: 'x'.repeat(65 * 1024) } }));
    expect(await closed).toBe(1009);
  });

  test('subscriptions per connection are capped', async () => {
    const { base } = await serve({ transport: { maxSubscriptionsPerConnection: 2 } });
    const t = await createTeam();
    const client = wsClient(base, t.keys.read);
    const first = subscribe(client, 'subscription { ticketEvents { type } }');
    const second = subscribe(client, 'subscription { ticketEvents { cursor } }');
    const third = subscribe(client, 'subscription { ticketEvents { ticketId } }');
    await third.completed;
    expect(third.received[0]!.errors![0]).toMatchObject({ message: 'At most 2 subscriptions per connection', extensions: { code: 'RATE_LIMITED' } });
    // Ending one frees its place.
    first.stop();
    second.stop();
    await eventually(async () => /^ticketql_subscriptions_open 0$/m.test(await (await fetch(`${base}/metrics`)).text()), { what: 'both to end' });
    const again = subscribe(client, 'subscription { ticketEvents { type } }');
    await listeningOn(base, 1);
    const created = await post(base, { query: 'mutation { createTicket(input: { title: "t", body: "b", customer: { email: "c@d.test" } }) { ticket { id } } }' }, bearer(t.keys.write));
    expect(created.body.errors).toBeUndefined();
    await again.waitFor(1);
    expect(again.received[0]).toEqual({ data: { ticketEvents: { type: 'CREATED' } } });
  });

  test('subscriptions per credential are capped over SSE and graphql-ws together', async () => {
    const { base } = await serve({ transport: { maxSubscriptionsPerCredential: 2 } });
    const t = await createTeam();
    subscribe(wsClient(base, t.keys.read), 'subscription { ticketEvents { type } }');
    subscribeSse(base, t.keys.read, 'subscription { ticketEvents { type } }');
    await listeningOn(base, 2);
    for (const third of [subscribeSse(base, t.keys.read, 'subscription { ticketEvents { cursor } }'), subscribe(wsClient(base, t.keys.read), 'subscription { ticketEvents { cursor } }')]) {
      await third.completed;
      expect(third.received[0]!.errors![0]).toMatchObject({ message: 'At most 2 subscriptions per credential', extensions: { code: 'RATE_LIMITED' } });
    }
    // Another credential has places of its own.
    const other = subscribe(wsClient(base, t.keys.write), 'subscription { ticketEvents { type } }');
    await listeningOn(base, 3);
    expect(other.received).toEqual([]);
  });

  test('a subscription that ends in an error gives its place under the per-credential cap back', async () => {
    const { base } = await serve({ transport: { maxSubscriptionsPerCredential: 1 } });
    const t = await createTeam();
    const client = wsClient(base, t.keys.read);
    // The cursor is read once the stream runs: the stream itself fails.
    for (let i = 0; i < 2; i++) {
      const failed = subscribe(client, 'subscription { ticketEvents(after: "not-a-cursor") { type } }');
      await failed.completed;
      expect(failed.received.map((r) => r.errors?.[0]?.extensions?.code)).toEqual(['BAD_USER_INPUT']);
    }
    const open = subscribe(client, 'subscription { ticketEvents { type } }');
    await listeningOn(base, 1);
    const created = await post(base, { query: 'mutation { createTicket(input: { title: "t", body: "b", customer: { email: "c@d.test" } }) { ticket { id } } }' }, bearer(t.keys.write));
    expect(created.body.errors).toBeUndefined();
    await open.waitFor(1);
    expect(open.received).toEqual([{ data: { ticketEvents: { type: 'CREATED' } } }]);
  });

  test('a request body sent too slowly is cut off at the request timeout', async () => {
    const { base } = await serve({ transport: { requestTimeoutMs: 1_000 } });
    const { port } = new URL(base);
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write('POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString()));
    await new Promise((resolve) => socket.once('close', resolve));
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
  });

  test('behind one trusted proxy, the client is the rightmost X-Forwarded-For entry, whatever the client put before it', async () => {
    const { base, db } = await serve({ publicTicketsPerHour: 1, trustProxy: 1 });
    const t = await createTeam({ acceptsPublicTickets: true });
    const submit = (forwardedFor: string) =>
      post(base, {
        query: 'mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }',
        variables: { input: { title: 'hello', teamSlug: t.team.slug, customer: { email: 'a@b.test' } } },
      }, { 'x-forwarded-for': forwardedFor });
    expect((await submit('10.0.0.1, 203.0.113.9')).body.errors).toBeUndefined();
    expect((await submit('10.0.0.2, 203.0.113.9')).body.errors![0]!.extensions.code).toBe('RATE_LIMITED');
    expect((await submit('10.0.0.1, 198.51.100.4')).body.errors).toBeUndefined();
    expect(await db.ticket.count({ where: { teamId: t.team.id } })).toBe(2);
  });
});

describe('what a credential may read', () => {
  test('a WRITE-only key writes, but its payloads read back nothing that ticket(id:) would refuse it (FORBIDDEN; the write stands)', async () => {
    const { base, db } = await serve();
    const t = await createTeam();
    const writeOnly = (await createApiKey(db, { teamId: t.team.id, name: 'form', scopes: ['WRITE'], mode: 'TEST' })).secret;
    const created = await post(base, { query: 'mutation { createTicket(input: { title: "From a form", body: "b", customer: { email: "f@o.test" } }) { ticketId ticket { notes } } }' }, bearer(writeOnly));
    expect(created.body.errors).toBeUndefined();
    const ticketId = created.body.data.createTicket.ticketId as string;
    expect(created.body.data.createTicket.ticket).toBeNull();
    const updated = await post(base, { query: `mutation { updateTicket(input: { id: "${ticketId}", notes: "staff only" }) { ticket { notes metadata customer { email } } } }` }, bearer(writeOnly));
    expect(updated.body.data).toBeNull();
    expect(updated.body.errors).toMatchObject([{ path: ['updateTicket', 'ticket'], extensions: { code: 'FORBIDDEN' } }]);
    expect(JSON.stringify(updated.body)).not.toContain('staff only');
    const replied = await post(base, { query: `mutation { addMessage(input: { ticketId: "${ticketId}", body: "x", isInternal: true }) { message { body } } }` }, bearer(writeOnly));
    expect(replied.body.errors).toMatchObject([{ path: ['addMessage', 'message'], extensions: { code: 'FORBIDDEN' } }]);
    expect((await post(base, { query: `{ ticket(id: "${ticketId}") { notes } }` }, bearer(writeOnly))).body.errors![0]!.extensions.code).toBe('FORBIDDEN');
    expect((await db.ticket.findFirstOrThrow({ where: { teamId: t.team.id } })).notes).toBe('staff only');
  });
});

describe('who a message says it is from', () => {
  test('a customer posts under their own name, whatever senderName they send', async () => {
    const { base } = await serve();
    const t = await createTeam();
    const opened = await post(base, { query: 'mutation { createTicket(input: { title: "Help", body: "hi" }) { ticket { id } } }' }, bearer(t.tokens.customer));
    const ticketId = opened.body.data.createTicket.ticket.id as string;
    const reply = await post(base, { query: `mutation { addMessage(input: { ticketId: "${ticketId}", body: "it is me", senderName: "Demo Support (staff)" }) { message { sender senderName } } }` }, bearer(t.tokens.customer));
    expect(reply.body.data.addMessage.message).toEqual({ sender: 'CUSTOMER', senderName: 'Jane Doe' });
  });
});

describe('staff-only work leaves no trace for customers', () => {
  test('an internal note or a notes-only edit does not move the updatedAt a customer sees, nor their UPDATED_AT order', async () => {
    const { base } = await serve();
    const t = await createTeam();
    const open = async (title: string) =>
      (await post(base, { query: `mutation { createTicket(input: { title: "${title}", body: "hi" }) { ticket { id updatedAt } } }` }, bearer(t.tokens.customer))).body.data.createTicket.ticket as { id: string; updatedAt: string };
    const older = await open('Older');
    await open('Newer');
    const read = async (as: string, id: string) => (await post(base, { query: `{ ticket(id: "${id}") { updatedAt } }` }, bearer(as))).body.data.ticket.updatedAt as string;
    const order = async () =>
      ((await post(base, { query: '{ tickets(orderBy: { field: UPDATED_AT, direction: DESC }) { edges { node { title } } } }' }, bearer(t.tokens.customer))).body.data.tickets.edges as Array<{ node: { title: string } }>).map((e) => e.node.title);
    expect(await order()).toEqual(['Newer', 'Older']);

    await post(base, { query: `mutation { addMessage(input: { ticketId: "${older.id}", body: "VIP, be nice", isInternal: true }) { message { id } } }` }, bearer(t.keys.write));
    await post(base, { query: `mutation { updateTicket(input: { id: "${older.id}", notes: "refund approved", metadata: { crm: "x" } }) { ticket { id } } }` }, bearer(t.keys.write));
    expect(await read(t.tokens.customer, older.id)).toBe(older.updatedAt);
    expect(await read(t.keys.read, older.id)).not.toBe(older.updatedAt);
    expect(await order()).toEqual(['Newer', 'Older']);

    // A public reply is something the customer sees.
    await post(base, { query: `mutation { addMessage(input: { ticketId: "${older.id}", body: "We are on it" }) { message { id } } }` }, bearer(t.keys.write));
    expect(await read(t.tokens.customer, older.id)).toBe(await read(t.keys.read, older.id));
    expect(await order()).toEqual(['Older', 'Newer']);
  });
});

describe('credentials that end', () => {
  test('a subscription opened with a token ends with UNAUTHENTICATED when the token expires', async () => {
    const { base, db } = await serve();
    const t = await createTeam();
    const shortLived = await signToken(JWT_SECRET, { sub: encodeId('Agent', t.agent.id), team: t.teamId, role: 'agent', email: t.agent.email }, '2s');
    const ticket = await db.ticket.create({ data: { teamId: t.team.id, number: 1, title: 'Watched' } });
    const ticketId = encodeId('Ticket', ticket.id);
    // Every kind of subscription, on both transports, ends when the token does.
    const subs = [
      subscribe(wsClient(base, shortLived), 'subscription { ticketEvents { type } }'),
      subscribeSse(base, shortLived, 'subscription { ticketEvents { type } }'),
      subscribe(wsClient(base, shortLived), 'subscription($id: ID!) { ticketUpdated(id: $id) { title } }', { id: ticketId }),
      subscribe(wsClient(base, shortLived), 'subscription($id: ID!) { ticketPresence(ticketId: $id) { ticketId } }', { id: ticketId }),
    ];
    for (const sub of subs) {
      await sub.completed;
      expect(sub.received.at(-1)!.errors![0]).toMatchObject({
        message: 'The credential expired: subscribe again with a new one',
        extensions: { code: 'UNAUTHENTICATED' },
      });
    }
  });
});

describe('/metrics', () => {
  test('labels hold no operation names, URLs or variables; METRICS_TOKEN guards the path', async () => {
    const { base } = await serve({ transport: { metricsToken: 'metrics-token-0123456789' } });
    const t = await createTeam();
    await post(base, { query: 'query SecretOperationName { viewer { role } }' }, bearer(t.keys.read));
    await fetch(`${base}/graphql?query=${encodeURIComponent('query($v: String) { viewer { role } }')}&variables=${encodeURIComponent('{"v":"SECRET-VARIABLE"}')}`, {
      headers: { ...bearer(t.keys.read), 'x-graphql-csrf': '1' },
    });
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${base}/metrics`, { headers: bearer('metrics-token-0123456789') })).text();
    expect(metrics).toContain('graphql_envelop_request_duration');
    expect(metrics).not.toContain('SecretOperationName');
    expect(metrics).not.toContain('SECRET-VARIABLE');
    expect(metrics).not.toContain('url=');
  });
});

describe('bad input is answered, never an internal error', () => {
  const gpc = (id: string) => Buffer.from(`GPC:S:${id}`).toString('base64');

  test('NUL characters and lone surrogates are BAD_USER_INPUT and write nothing, in variables and in literals', async () => {
    const { base, db } = await serve();
    const t = await createTeam();
    const create = 'mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } } }';
    const nul = await post(base, { query: create, variables: { input: { title: 'a\u0000b', body: 'b', customer: { email: 'n@u.test' } } } }, bearer(t.keys.write));
    expect(nul.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'input.title' }] });
    const lone = await post(base, { query: 'query($s: String) { tickets(filter: { search: $s }) { totalCount } }', variables: { s: 'x\ud800' } }, bearer(t.keys.read));
    expect(lone.body.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 's' }] });
    const literal = await post(base, { query: 'mutation { createTicket(input: { title: "a\\u0000b", body: "b", customer: { email: "n@u.test" } }) { ticket { id } } }' }, bearer(t.keys.write));
    expect(literal.body.errors![0]!.extensions.code).toBe('BAD_USER_INPUT');
    expect(await db.ticket.count({ where: { teamId: t.team.id } })).toBe(0);
  });

  test('hand-made cursors are BAD_USER_INPUT; another team’s ticket as a cursor answers like one that does not exist', async () => {
    const { base, db } = await serve();
    const mine = await createTeam();
    const theirs = await createTeam();
    const page = (after: string) => post(base, { query: '{ tickets(first: 5, after: $after) { edges { node { title } } } }'.replace('$after', JSON.stringify(after)) }, bearer(mine.keys.read));
    for (const cursor of ['not base64 at all', gpc('not-a-uuid'), Buffer.from('GPC:N:12').toString('base64')]) {
      expect((await page(cursor)).body.errors![0]!.extensions.code, cursor).toBe('BAD_USER_INPUT');
    }
    const foreign = await db.ticket.create({ data: { teamId: theirs.team.id, number: 1, title: 'theirs' } });
    const missing = await page(gpc('00000000-0000-4000-8000-000000000000'));
    const forged = await page(gpc(foreign.id));
    expect(forged.body).toEqual({ ...missing.body, extensions: forged.body.extensions });
    expect(forged.body.errors![0]!.extensions.code).toBe('BAD_USER_INPUT');
  });

  test('search takes %, _ and \\ literally', async () => {
    const { base, db } = await serve();
    const t = await createTeam();
    for (const [number, title] of [[1, 'Refund 100% of order'], [2, 'Refund 1000 widgets'], [3, 'a_c'], [4, 'abc'], [5, 'path C:\\temp']] as const) {
      await db.ticket.create({ data: { teamId: t.team.id, number, title } });
    }
    const found = async (search: string) =>
      ((await post(base, { query: '{ tickets(filter: { search: $s }) { edges { node { title } } } }'.replace('$s', JSON.stringify(search)) }, bearer(t.keys.read))).body.data.tickets.edges as Array<{ node: { title: string } }>).map((e) => e.node.title);
    expect(await found('100%')).toEqual(['Refund 100% of order']);
    expect(await found('a_c')).toEqual(['a_c']);
    expect(await found('C:\\temp')).toEqual(['path C:\\temp']);
  });

  test('webhook URLs: IPv4-compatible and IPv4-mapped IPv6 literals are judged by their IPv4 address', async () => {
    const { refuseUrl } = await import('../src/webhooks/url-policy.js');
    const production = { production: true };
    expect(await refuseUrl('https://[::127.0.0.1]/hook', production)).toBe('resolves to a loopback address');
    expect(await refuseUrl('https://[::169.254.169.254]/hook', production)).toBe('resolves to a linkLocal address');
    expect(await refuseUrl('https://[::ffff:10.0.0.1]/hook', production)).toBe('resolves to a private address');
    expect(await refuseUrl('https://[::1]/hook', production)).toBe('resolves to a loopback address');
  });
});
