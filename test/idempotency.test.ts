import { describe, expect, test } from 'vitest';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { App } from '../src/app.js';
import { otherApp, testApp } from './support/app.js';
import { refuseTicketInsert } from './support/faults.js';
import { createTeam } from './support/fixtures.js';

const CREATE = 'mutation($title: String!) { createTicket(input: { title: $title, body: "hi" }) { ticket { id number title } } }';

async function post(key: string, idempotencyKey: string | undefined, query: string, variables: Record<string, unknown>, app: App = testApp().app) {
  const res = await app.yoga.fetch(
    'http://ticketql.test/graphql',
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        ...(idempotencyKey && { 'idempotency-key': idempotencyKey }),
      },
      body: JSON.stringify({ query, variables }),
    },
    { requestId: 'idem' },
  );
  return { replayed: res.headers.get('idempotent-replayed') === 'true', body: (await res.json()) as { data?: any; errors?: any[] } };
}

const tickets = (teamId: string) => testApp().db.ticket.count({ where: { teamId } });
const events = (teamId: string) => testApp().db.ticketEvent.count({ where: { teamId } });

describe('Idempotency-Key', () => {
  test('the same key and request replays the first response, with no second write or event', async () => {
    const t = await createTeam();
    const first = await post(t.keys.write, 'order-42', CREATE, { title: 'Once' });
    const again = await post(t.keys.write, 'order-42', CREATE, { title: 'Once' });
    expect(first.replayed).toBe(false);
    expect(again.replayed).toBe(true);
    expect(again.body.data).toEqual(first.body.data);
    expect(await tickets(t.team.id)).toBe(1);
    expect(await events(t.team.id)).toBe(1);
  });

  test('the same key with a different request is a CONFLICT and writes nothing', async () => {
    const t = await createTeam();
    await post(t.keys.write, 'k1', CREATE, { title: 'First' });
    const other = await post(t.keys.write, 'k1', CREATE, { title: 'Second' });
    expect(other.body.errors?.[0].extensions.code).toBe('CONFLICT');
    expect(other.body.errors?.[0].message).toBe('This Idempotency-Key was used for a different request');
    expect(await tickets(t.team.id)).toBe(1);
  });

  test('concurrent requests with one key produce one write', async () => {
    const t = await createTeam();
    const results = await Promise.all(Array.from({ length: 6 }, () => post(t.keys.write, 'race', CREATE, { title: 'Race' })));
    expect(await tickets(t.team.id)).toBe(1);
    const ids = new Set(results.filter((r) => r.body.data).map((r) => r.body.data.createTicket.ticket.id));
    expect(ids.size).toBe(1);
    for (const r of results) expect(r.body.data ?? r.body.errors?.[0].extensions.code).toBeTruthy();
    expect(results.filter((r) => !r.replayed && r.body.data)).toHaveLength(1);
  });

  test('keys belong to a credential; queries ignore them; after 24 hours a key is free again', async () => {
    const t = await createTeam();
    await post(t.keys.write, 'shared', CREATE, { title: 'A' });
    const otherKey = await post(t.keys.admin, 'shared', CREATE, { title: 'A' });
    expect(otherKey.replayed).toBe(false);
    expect(await tickets(t.team.id)).toBe(2);

    const query = await post(t.keys.read, 'shared', '{ viewer { role } }', {});
    expect(query).toEqual({ replayed: false, body: { data: { viewer: { role: 'AGENT' } }, extensions: { requestId: 'idem' } } });

    await testApp().db.idempotencyRecord.updateMany({ where: { key: 'shared' }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const later = await post(t.keys.write, 'shared', CREATE, { title: 'A' });
    expect(later.replayed).toBe(false);
    expect(await tickets(t.team.id)).toBe(3);
  });

  test('a bad-input answer is replayed too; nothing is written either time', async () => {
    const t = await createTeam();
    const bad = await post(t.keys.write, 'bad', CREATE, { title: '' });
    const again = await post(t.keys.write, 'bad', CREATE, { title: '' });
    expect(bad.body.errors?.[0].extensions.code).toBe('BAD_USER_INPUT');
    expect(again.replayed).toBe(true);
    expect(again.body.errors).toEqual(bad.body.errors);
    expect(await tickets(t.team.id)).toBe(0);
  });

  test('a SERVICE_UNAVAILABLE answer is not kept: a retry with the same key runs the mutation', async () => {
    const t = await createTeam();
    // PostgreSQL refuses this one insert as a database that is shutting down does.
    const title = `unavailable-${t.team.id}`;
    const restore = await refuseTicketInsert(testApp().db, title, '57P03', 'the database system is shutting down');
    let refused: Awaited<ReturnType<typeof post>>;
    try {
      refused = await post(t.keys.write, 'busy', CREATE, { title });
    } finally {
      await restore();
    }
    expect(refused.body.errors?.[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(await tickets(t.team.id)).toBe(0);

    const retry = await post(t.keys.write, 'busy', CREATE, { title });
    expect(retry.replayed).toBe(false);
    expect(retry.body.data.createTicket.ticket.title).toBe(title);
    expect(await tickets(t.team.id)).toBe(1);
    const again = await post(t.keys.write, 'busy', CREATE, { title });
    expect(again.replayed).toBe(true);
    expect(again.body.data).toEqual(retry.body.data);
  });
});

describe('Idempotency-Key and secrets shown once', () => {
  test('a replay of createApiKey does not show the secret again, and the stored answer holds no secret', async () => {
    const t = await createTeam();
    const query = 'mutation { createApiKey(input: { name: "ci", scopes: [READ] }) { apiKey { id } secret } }';
    const first = await post(t.keys.admin, 'key-once', query, {});
    const secret = first.body.data.createApiKey.secret as string;
    expect(secret).toMatch(/^sk_(live|test)_/);
    const again = await post(t.keys.admin, 'key-once', query, {});
    expect(again.replayed).toBe(true);
    expect(again.body.data).toBeNull();
    expect(again.body.errors![0]).toMatchObject({
      message: `The first request with this Idempotency-Key created a secret, which is shown only in its first answer; it created ${first.body.data.createApiKey.apiKey.id}`,
      extensions: { code: 'CONFLICT' },
    });
    expect(JSON.stringify(again.body)).not.toContain(secret);
    const stored = await testApp().db.idempotencyRecord.findMany({ where: { key: 'key-once' } });
    expect(stored).toHaveLength(1);
    expect(JSON.stringify(stored[0]!.response)).not.toContain(secret);
    expect(await testApp().db.apiKey.count({ where: { teamId: t.team.id, name: 'ci' } })).toBe(1);
  });
});

describe('Idempotency-Key and every kind of secret', () => {
  test.for([
    ['createApiKey, aliased', 'mutation { createApiKey(input: { name: "x", scopes: [READ] }) { apiKey { id } token: secret } }'],
    ['createWebhookEndpoint', 'mutation { createWebhookEndpoint(input: { url: "http://localhost:9/h", events: ["ticket.created"] }) { webhookEndpoint { id } signingSecret } }'],
  ] as const)('%s: the replay and the stored answer hold no secret', async ([name, query]) => {
    const t = await createTeam();
    const key = `secret-${name.replace(/\W+/g, '-')}`;
    const first = await post(t.keys.admin, key, query, {});
    expect(first.body.errors, JSON.stringify(first.body)).toBeUndefined();
    const secret = JSON.stringify(first.body.data).match(/(sk_(live|test)_|whsec_)[^"]+/)![0];
    const again = await post(t.keys.admin, key, query, {});
    expect(again.replayed).toBe(true);
    expect(again.body.errors![0]!.extensions!.code).toBe('CONFLICT');
    expect(JSON.stringify(again.body)).not.toContain(secret);
    const stored = await testApp().db.idempotencyRecord.findFirstOrThrow({ where: { key } });
    expect(JSON.stringify(stored.response)).not.toContain(secret);
  });
});

describe('Idempotency-Key from anonymous callers', () => {
  test('refused anonymous mutations keep no record, whatever keys they send', async () => {
    const closed = await createTeam();
    const { db, app } = testApp();
    const before = await db.idempotencyRecord.count({ where: { scope: { startsWith: 'anonymous:' } } });
    for (const key of ['spam-1', 'spam-2', 'spam-3']) {
      const res = await app.yoga.fetch(
        'http://ticketql.test/graphql',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'idempotency-key': key },
          body: JSON.stringify({
            query: 'mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }',
            variables: { input: { title: 'x', teamSlug: closed.team.slug, customer: { email: 'a@b.test' } } },
          }),
        },
        { requestId: 'idem' },
      );
      expect(((await res.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions.code).toBe('NOT_FOUND');
    }
    expect(await db.idempotencyRecord.count({ where: { scope: { startsWith: 'anonymous:' } } })).toBe(before);
  });
});

describe('Idempotency-Key whatever fails where: exactly one write', () => {
  const db = () => testApp().db;
  /** The state a process leaves when it dies after the commit, before the answer is stored. */
  const loseAnswer = (key: string, ageMinutes: number) =>
    db().$executeRaw`UPDATE idempotency_records SET response = NULL, created_at = now() - make_interval(mins => ${ageMinutes}) WHERE key = ${key}`;
  const READ_BACK = 'mutation($title: String!) { createTicket(input: { title: $title, body: "hi" }) { ticket { id number title messages { totalCount } } } }';

  test('an answer lost after the commit is replayed from what committed, minutes later too, and no second ticket or event is written', async () => {
    const t = await createTeam();
    const first = await post(t.keys.write, 'lost-1', READ_BACK, { title: 'Lost answer' });
    expect(first.body.data.createTicket.ticket).toMatchObject({ title: 'Lost answer', messages: { totalCount: 1 } });
    await loseAnswer('lost-1', 5);

    const retry = await post(t.keys.write, 'lost-1', READ_BACK, { title: 'Lost answer' });
    expect(retry.replayed).toBe(true);
    expect(retry.body).toEqual(first.body);
    expect(await tickets(t.team.id)).toBe(1);
    expect(await events(t.team.id)).toBe(1);
    // The replay's answer is kept: the next retry gets it as stored.
    const record = await db().idempotencyRecord.findFirstOrThrow({ where: { key: 'lost-1' } });
    expect(record.response).toEqual({ data: first.body.data });
  });

  test('concurrent retries of a request whose answer was lost all replay it', async () => {
    const t = await createTeam();
    const first = await post(t.keys.write, 'lost-2', CREATE, { title: 'Racing retries' });
    await loseAnswer('lost-2', 0);
    const retries = await Promise.all(Array.from({ length: 5 }, () => post(t.keys.write, 'lost-2', CREATE, { title: 'Racing retries' })));
    for (const r of retries) {
      expect(r.replayed).toBe(true);
      expect(r.body.data).toEqual(first.body.data);
    }
    expect(await tickets(t.team.id)).toBe(1);
  });

  test('a database error after the commit answers SERVICE_UNAVAILABLE, and the retry replays instead of writing again', async () => {
    const t = await createTeam();
    let failNext = true;
    // The commit has happened; reading the answer back fails as a lost connection does.
    const afterCommit: Plugin = {
      onExecute: () => ({
        onExecuteDone: ({ setResult }) => {
          if (!failNext) return;
          failNext = false;
          setResult({ errors: [new GraphQLError('Connection terminated unexpectedly', { extensions: { code: 'SERVICE_UNAVAILABLE' } })] });
        },
      }),
    };
    const { app } = otherApp({ plugins: [afterCommit] });
    const failed = await post(t.keys.write, 'after-commit', CREATE, { title: 'Committed, then failed' }, app);
    expect(failed.body.errors?.[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(await tickets(t.team.id)).toBe(1);

    const retry = await post(t.keys.write, 'after-commit', CREATE, { title: 'Committed, then failed' }, app);
    expect(retry.replayed).toBe(true);
    const created = await db().ticket.findFirstOrThrow({ where: { teamId: t.team.id } });
    expect(retry.body.data.createTicket.ticket).toMatchObject({ number: created.number, title: 'Committed, then failed' });
    expect(await tickets(t.team.id)).toBe(1);
    expect(await events(t.team.id)).toBe(1);
  });

  test('two mutations in one request, the second refused by the database: the retry replays the first and runs the second once', async () => {
    const t = await createTeam();
    const query = 'mutation($a: String!, $b: String!) { a: createTicket(input: { title: $a }) { ticket { title } } b: createTicket(input: { title: $b }) { ticket { title } } }';
    const variables = { a: `first-${t.team.id}`, b: `second-${t.team.id}` };
    const restore = await refuseTicketInsert(db(), variables.b, '57P03', 'the database system is shutting down');
    let refused: Awaited<ReturnType<typeof post>>;
    try {
      refused = await post(t.keys.write, 'two-fields', query, variables);
    } finally {
      await restore();
    }
    // Mutation fields are non-null: the error of b takes the answer of a with it.
    expect(refused.body.data).toBeNull();
    expect(refused.body.errors?.[0].extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(await tickets(t.team.id)).toBe(1);

    const retry = await post(t.keys.write, 'two-fields', query, variables);
    expect(retry.body.errors).toBeUndefined();
    expect(retry.body.data).toEqual({ a: { ticket: { title: variables.a } }, b: { ticket: { title: variables.b } } });
    expect(retry.replayed).toBe(true);
    const titles = (await db().ticket.findMany({ where: { teamId: t.team.id }, select: { title: true }, orderBy: { number: 'asc' } })).map((r) => r.title);
    expect(titles).toEqual([variables.a, variables.b]);
    expect(await events(t.team.id)).toBe(2);
  });

  test('a key whose record expired is free again, though its answer was never stored', async () => {
    const t = await createTeam();
    await post(t.keys.write, 'old-lost', CREATE, { title: 'Yesterday' });
    await db().$executeRaw`UPDATE idempotency_records SET response = NULL, expires_at = now() - interval '1 second' WHERE key = 'old-lost'`;
    const today = await post(t.keys.write, 'old-lost', CREATE, { title: 'Today' });
    expect(today.replayed).toBe(false);
    expect(today.body.data.createTicket.ticket.title).toBe('Today');
    expect(await tickets(t.team.id)).toBe(2);
  });
});
