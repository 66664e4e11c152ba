import { describe, expect, test } from 'vitest';
import { testApp } from './support/app.js';
import { refuseTicketInsert } from './support/faults.js';
import { createTeam } from './support/fixtures.js';

const CREATE = 'mutation($title: String!) { createTicket(input: { title: $title, body: "hi" }) { ticket { id number title } } }';

async function post(key: string, idempotencyKey: string | undefined, query: string, variables: Record<string, unknown>) {
  const res = await testApp().app.yoga.fetch(
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
