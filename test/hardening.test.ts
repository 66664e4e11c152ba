// Operation limits, cost budget, GraphQL-over-HTTP compliance, CSRF, body size,
// introspection, metrics, and a fuzz run of hostile documents.
import { serverAudits } from 'graphql-http';
import { beforeAll, describe, expect, test } from 'vitest';
import { startOtherApp, testApp } from './support/app.js';
import { createTeam, type TeamFixture } from './support/fixtures.js';

let base: string;
let t: TeamFixture;
beforeAll(async () => {
  base = await testApp().app.start(0);
  t = await createTeam();
});

async function post(query: string, options: { key?: string; variables?: unknown; headers?: Record<string, string>; url?: string } = {}) {
  const res = await fetch(`${options.url ?? base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.key && { authorization: `Bearer ${options.key}` }), ...options.headers },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions: Record<string, any> }> } };
}

const nest = (depth: number) => {
  let q = 'id';
  for (let i = 0; i < depth; i++) q = `customer { tickets(first: 1) { edges { node { ${q} } } } }`;
  return `{ tickets(first: 1) { edges { node { ${q} } } } }`;
};

describe('operation limits: a clear code before execution', () => {
  test.each([
    ['depth', nest(3), /Query depth limit of 12 exceeded/],
    ['aliases', `{ ${Array.from({ length: 31 }, (_, i) => `a${i}: viewer { role }`).join(' ')} }`, /Aliases limit of 30 exceeded/],
    ['directives', `{ viewer { role ${'@skip(if: false) '.repeat(21)} } }`, /Directives limit of 20 exceeded/],
    ['tokens', `{ viewer { ${'role '.repeat(5000)} } }`, /Token limit of 5000 exceeded/],
  ])('%s', async (_name, query, message) => {
    const res = await post(query, { key: t.keys.read });
    expect(res.body.data ?? null).toBeNull();
    expect(res.body.errors![0]!.message).toMatch(message);
    expect(res.body.errors![0]!.extensions.code).toBe('QUERY_TOO_COMPLEX');
  });

  test('cost counts page sizes: huge nested pages are refused; the cost shows in rateLimit and headers', async () => {
    const huge = '{ tickets(first: 100) { edges { node { messages(first: 100) { edges { node { ticket { messages(first: 100) { edges { node { id } } } } } } } } } } }';
    const refused = await post(huge, { key: t.keys.read });
    expect(refused.body.errors![0]!.extensions).toMatchObject({ code: 'QUERY_TOO_COMPLEX', maxCost: 50_000 });
    expect(refused.body.errors![0]!.extensions.cost).toBeGreaterThan(1_000_000);

    const ok = await post('{ rateLimit { cost limit remaining resetAt } tickets(first: 50) { edges { node { id } } } }', { key: t.keys.write });
    // rateLimit 1 + tickets 1 + edges 50 + node 50 = 102
    expect(ok.body.data.rateLimit).toMatchObject({ cost: 102, limit: 100_000, remaining: 100_000 - 102 });
    expect(ok.headers.get('ratelimit-limit')).toBe('100000');
    expect(ok.headers.get('ratelimit-remaining')).toBe(String(100_000 - 102));
    expect(Number(ok.headers.get('ratelimit-reset'))).toBeGreaterThan(0);
  });

  test('one document priced again with other variables: page sizes count, IDs do not, a bad value is still refused', async () => {
    const q = 'query($first: Int, $status: [TicketStatus!]) { rateLimit { cost } tickets(first: $first, filter: { status: $status }) { edges { node { id } } } }';
    const cost = async (variables: Record<string, unknown>) => (await post(q, { key: t.keys.read, variables })).body;
    expect((await cost({ first: 10, status: ['OPEN'] })).data.rateLimit.cost).toBe(22);
    expect((await cost({ first: 10, status: ['NEW'] })).data.rateLimit.cost).toBe(22);
    expect((await cost({ first: 40, status: ['NEW'] })).data.rateLimit.cost).toBe(82);
    expect((await cost({ first: 10, status: ['OPEN'] })).data.rateLimit.cost).toBe(22);
    const bad = await cost({ first: 10, status: ['NOT_A_STATUS'] });
    expect(bad.data ?? null).toBeNull();
    expect(bad.errors![0]!.message).toMatch(/NOT_A_STATUS/);
  });

  test('a spent budget answers RATE_LIMITED with the reset time', async () => {
    const { base: url } = await startOtherApp({ limits: { budget: 250, budgetWindowSeconds: 3600 } });
    const q = '{ tickets(first: 50) { edges { node { id } } } }'; // costs 101
    expect((await post(q, { key: t.keys.read, url })).body.errors).toBeUndefined();
    expect((await post(q, { key: t.keys.read, url })).body.errors).toBeUndefined();
    const third = await post(q, { key: t.keys.read, url });
    expect(third.body.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', resetAt: expect.any(String) });
    // Another credential has its own budget.
    expect((await post(q, { key: t.keys.write, url })).body.errors).toBeUndefined();
  });

  test('a mutation that cannot get a database connection in time answers SERVICE_UNAVAILABLE and writes nothing', async () => {
    // One connection, held by a long transaction: the mutation's transaction cannot start.
    const { db, base: url } = await startOtherApp({}, 1);
    let release!: () => void;
    let holding!: () => void;
    const holds = new Promise<void>((resolve) => (holding = resolve));
    // Held far longer than the mutation waits for a connection, however slow the machine.
    const held = db.$transaction(
      () => {
        holding();
        return new Promise<void>((resolve) => (release = resolve));
      },
      { timeout: 110_000 },
    );
    try {
      await holds; // the transaction has the pool's one connection
      const res = await post('mutation { createTicket(input: { title: "Overloaded" }) { ticketId } }', { key: t.keys.write, url });
      expect(res.status).toBe(503);
      expect(res.body.errors![0]).toMatchObject({ message: 'The server is busy; try again shortly', extensions: { code: 'SERVICE_UNAVAILABLE' } });
      release();
      await held;
      expect(await testApp().db.ticket.count({ where: { teamId: t.team.id, title: 'Overloaded' } })).toBe(0);
    } finally {
      release?.();
    }
  });

  test('introspection can be switched off; suggestions are hidden in production', async () => {
    const { base: url } = await startOtherApp({ limits: { introspection: false, hideSuggestions: true } });
    const intro = await post('{ __schema { types { name } } }', { key: t.keys.read, url });
    expect(intro.body.errors![0]!.message).toMatch(/introspection/i);
    const typo = await post('{ viewer { rol } }', { key: t.keys.read, url });
    expect(typo.body.errors![0]!.message).not.toMatch(/Did you mean/);
    expect((await post('{ __schema { queryType { name } } }', { key: t.keys.read })).body.data.__schema.queryType.name).toBe('Query');
  });
});

describe('GraphQL over HTTP', () => {
  test('every MUST of the graphql-http server audit passes', async () => {
    const audits = serverAudits({ url: `${base}/graphql` });
    const failures: string[] = [];
    for (const audit of audits) {
      if (!audit.name.startsWith('MUST')) continue;
      const result = await audit.fn();
      if (result.status !== 'ok') failures.push(`${audit.name}: ${result.reason}`);
    }
    expect(failures).toEqual([]);
  });

  test('CSRF: a browser form post (no preflight) is refused; JSON requests pass', async () => {
    const form = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'query=%7B__typename%7D',
    });
    expect(form.status).toBe(403);
    const get = await fetch(`${base}/graphql?query=%7B__typename%7D`, { headers: { accept: 'application/json' } });
    expect(get.status).toBe(403);
    const withHeader = await fetch(`${base}/graphql?query=%7B__typename%7D`, { headers: { accept: 'application/json', 'x-graphql-csrf': '1' } });
    expect(withHeader.status).toBe(200);
  });

  test('a body over the limit is refused with 413', async () => {
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ __typename }`, variables: { pad: 'x'.repeat(1_100_000) } }),
    });
    expect(res.status).toBe(413);
  });

  test('/metrics exposes request, error, subscription and job metrics in Prometheus format', async () => {
    await post('{ viewer { role } }', { key: t.keys.read });
    await post('{ viewer { role } }', { key: 'sk_live_00000000000000000000000000000000' });
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(/^graphql_envelop_request_duration_bucket\{.*operationType="query".*\} \d+/m);
    expect(text).toMatch(/^ticketql_errors_total\{code="UNAUTHENTICATED"\} [1-9]/m);
    expect(text).toMatch(/^ticketql_subscriptions_open \d+/m);
    expect(text).toMatch(/^# TYPE ticketql_jobs gauge/m);
    expect(text).toMatch(/^ticketql_db_pool_connections\{state="total"\} [1-9]/m);
  });
});

describe('hostile input', () => {
  test('hundreds of malformed or hostile documents: each gets a 4xx or a GraphQL error, none crashes the server, nothing is written', async () => {
    const { db } = testApp();
    const before = await db.ticket.count({ where: { teamId: t.team.id } });
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const pick = <T,>(items: readonly T[]) => items[Math.floor(random() * items.length)]!;
    const pieces = ['{', '}', '(', ')', 'mutation', 'query', 'createTicket', 'input:', '$x', '...', 'on', 'Ticket', '@skip', '"', '\\u0000', '#', 'title:', '""', '1e999', 'null', '[', ']', ':', 'tickets', 'first: -1', 'first: 999999', 'after: "x"', '__schema', 'fragment F on Query { ...F }', '...F'];
    const bodies: string[] = [];
    for (let i = 0; i < 300; i++) {
      const kind = i % 4;
      if (kind === 0) bodies.push(JSON.stringify({ query: Array.from({ length: 1 + Math.floor(random() * 20) }, () => pick(pieces)).join(' ') }));
      else if (kind === 1) bodies.push(JSON.stringify({ query: 'mutation($i: CreateTicketInput!) { createTicket(input: $i) { ticketId } }', variables: { i: pick([null, 1, 'x', [], { title: 5 }, { title: 'x'.repeat(300) }, { title: 'ok', metadata: 'nope' }, { title: 'ok', tags: [1, 2] }]) } }));
      else if (kind === 2) bodies.push(pick(['', '{', 'null', '[]', '{"query": 5}', '{"query": "{ __typename }", "variables": "x"}', '\u0000\u0001', '{"query":"{ a'.repeat(3)]));
      else {
        // Nesting beyond the depth limit (4 levels each), balanced or not.
        const open = 4 + Math.floor(random() * 8);
        const close = random() < 0.5 ? open : Math.floor(random() * 12);
        bodies.push(JSON.stringify({ query: `{ ${'tickets(first: 1) { edges { node { customer { '.repeat(open)}id${' } } } }'.repeat(close)} }` }));
      }
    }
    for (const body of bodies) {
      const res = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.write}` }, body });
      const text = await res.text();
      if (res.status >= 500) throw new Error(`5xx for ${body.slice(0, 200)}: ${text.slice(0, 300)}`);
      if (res.status === 200) {
        const json = JSON.parse(text) as { errors?: unknown[] };
        expect(json.errors?.length ?? 0, body.slice(0, 200)).toBeGreaterThan(0);
      }
    }
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect(await db.ticket.count({ where: { teamId: t.team.id } })).toBe(before);
  });
});
