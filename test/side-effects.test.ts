// Emails and webhooks with real receivers, run by a real graphile-worker.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { change } from '../src/domain/change.js';
import { decodeId, encodeId } from '../src/ids.js';
import { refuseUrl } from '../src/webhooks/url-policy.js';
import { createMailer } from '../src/jobs/mail.js';
import { enqueueWebhook, ticketMailQueue } from '../src/jobs/side-effects.js';
import { startWorker, type JobWorker } from '../src/jobs/worker.js';
import { purgeIdleJobQueues } from '../src/jobs/upkeep.js';
import pg from 'pg';
import { createLogger } from '../src/logger.js';
import { graphql } from './generated/index.js';
import { execute, testApp } from './support/app.js';
import { createTeam } from './support/fixtures.js';
import { AddMessage, UpdateTicket, newTicket } from './support/operations.js';
import { emailTurn, jobsDone } from './support/jobs.js';
import { eventually, startReceiver, startSmtp } from './support/receivers.js';
import { cleanEnv, run } from './support/process.js';
import { JWT_SECRET } from './support/app.js';

const CreateEndpoint = graphql(`
  mutation NewEndpoint($input: CreateWebhookEndpointInput!) {
    createWebhookEndpoint(input: $input) { signingSecret webhookEndpoint { id url events includeInternal enabled } }
  }
`);
const Deliveries = graphql(`
  query Deliveries($id: ID!) {
    webhookDeliveries(endpointId: $id, first: 20) { edges { node { attempt succeeded responseStatus durationMs error eventType eventId } } }
  }
`);
const Rotate = graphql(`
  mutation Rotate($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { signingSecret } }
`);
const Redeliver = graphql(`
  mutation Redeliver($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { attempt } }
`);
const UpdateEndpoint = graphql(`
  mutation UpdateEndpoint($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { includeInternal } } }
`);

let smtp: Awaited<ReturnType<typeof startSmtp>>;
let worker: JobWorker;

beforeAll(async () => {
  await emailTurn();
  smtp = await startSmtp({ holding: (mail) => mail.raw.includes('Hold this reply at the relay') });
  const { db } = testApp();
  worker = await startWorker({
    databaseUrl: inject('databaseUrl'),
    db,
    mailer: createMailer({ smtpUrl: smtp.url, from: 'Support <support@ticketql.test>', dataDir: '/nonexistent' }),
    log: createLogger('silent'),
    concurrency: 4,
    policy: { production: false },
    retrySchedule: [0, 0, 0, 0, 0, 0, 0, 0],
    pollIntervalMs: 100,
  });
}, 300_000); // the other file's turn at email may come first

afterAll(async () => {
  await worker?.stop();
  await smtp?.close();
});

const MergeForMail = graphql(`
  mutation MergeForMail($input: MergeTicketsInput!) { mergeTickets(input: $input) { mergedTicketIds } }
`);

const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.includes(address));
const endpointIds = async (teamId: string) => (await testApp().db.webhookEndpoint.findMany({ where: { teamId }, select: { id: true } })).map((e) => e.id);
const header = (raw: string, name: string) => new RegExp(`^${name}: (.*)$`, 'mi').exec(raw)?.[1];

describe('emails', () => {
  test('on creation to the customer and the support inbox; on status change and public agent replies to the customer; never for internal notes', async () => {
    const t = await createTeam();
    const customer = `kim-${t.team.slug}@example.com`;
    const ticket = await newTicket(t.keys.write, { title: 'Printer on fire', body: 'Smoke everywhere', customer: { email: customer, name: 'Kim' } });
    await eventually(() => mailsTo(customer).length === 1 && mailsTo(t.team.supportEmail!).length === 1);
    const welcome = mailsTo(customer)[0]!;
    expect(header(welcome.raw, 'Subject')).toBe('[#1] Printer on fire');
    expect(welcome.raw).toContain('Content-Type: text/plain');
    expect(welcome.raw).toContain('Content-Type: text/html');
    expect(welcome.raw).toContain('Smoke everywhere');
    const thread = header(welcome.raw, 'Message-ID')!;
    expect(header(mailsTo(t.team.supportEmail!)[0]!.raw, 'Subject')).toBe('New ticket [#1] Printer on fire');

    await execute(AddMessage, { as: t.tokens.agent, variables: { input: { ticketId: ticket.id, body: 'INTERNAL: customer is difficult', isInternal: true } } });
    await execute(AddMessage, { as: t.tokens.agent, variables: { input: { ticketId: ticket.id, body: 'We are on our way' } } });
    await execute(UpdateTicket, { as: t.tokens.agent, variables: { input: { id: ticket.id, notes: 'only notes' } } });
    await execute(UpdateTicket, { as: t.tokens.agent, variables: { input: { id: ticket.id, status: 'RESOLVED' } } });
    await eventually(() => mailsTo(customer).length === 3);
    await jobsDone(testApp().db, 'to', [customer, t.team.supportEmail!]); // nothing more is coming
    const [, reply, status] = mailsTo(customer);
    expect(mailsTo(customer)).toHaveLength(3);
    expect(header(reply!.raw, 'Subject')).toBe('Re: [#1] Printer on fire');
    expect(reply!.raw).toContain('We are on our way');
    expect(header(reply!.raw, 'In-Reply-To')).toBe(thread);
    expect(header(status!.raw, 'Subject')).toBe('[#1] Printer on fire: resolved');
    expect(header(status!.raw, 'References')).toBe(thread);
    for (const mail of smtp.mails) expect(mail.raw).not.toContain('INTERNAL: customer is difficult');
  });

  test('a merge mails the customer of each source once, where the conversation went; never the copied internal notes', async () => {
    const t = await createTeam();
    const kim = `kim-merge-${t.team.slug}@example.com`;
    const target = await newTicket(t.keys.write, { title: 'Original', customer: { email: kim } });
    const dup = await newTicket(t.keys.write, { title: 'Duplicate', customer: { email: kim } });
    await execute(AddMessage, { as: t.tokens.agent, variables: { input: { ticketId: dup.id, body: 'INTERNAL: a duplicate', isInternal: true } } });
    await eventually(() => mailsTo(kim).length === 2);
    (await execute(MergeForMail, { as: t.tokens.agent, variables: { input: { sourceIds: [dup.id], targetId: target.id } } })).ok();
    await eventually(() => mailsTo(kim).length === 3);
    await jobsDone(testApp().db, 'to', [kim]); // nothing more is coming: no separate status mail
    const merged = mailsTo(kim)[2]!;
    expect(mailsTo(kim)).toHaveLength(3);
    expect(header(merged.raw, 'Subject')).toBe('[#2] Duplicate: merged');
    expect(merged.raw).toContain('This ticket was merged into ticket #1, where the conversation continues.');
    for (const mail of mailsTo(kim)) expect(mail.raw).not.toContain('INTERNAL: a duplicate');
  });

  test('a ticket’s mails leave in the order of its events: the status mail waits while the reply before it is slow to send', async () => {
    const t = await createTeam();
    const customer = `slow-${t.team.slug}@example.com`;
    const ticket = await newTicket(t.keys.write, { title: 'Slow relay', customer: { email: customer } });
    await eventually(() => mailsTo(customer).length === 1);
    await execute(AddMessage, { as: t.tokens.agent, variables: { input: { ticketId: ticket.id, body: 'Hold this reply at the relay' } } });
    await execute(UpdateTicket, { as: t.tokens.agent, variables: { input: { id: ticket.id, status: 'RESOLVED' } } });
    await eventually(() => mailsTo(customer).length === 2); // the reply reached the relay, which has not answered
    const { db } = testApp();
    const waiting = await db.$queryRaw<Array<{ subject: string; jobLocked: boolean; queueLockedBy: string | null }>>`
      SELECT j.payload->>'subject' AS subject, j.locked_at IS NOT NULL AS "jobLocked", q.locked_by AS "queueLockedBy"
      FROM graphile_worker._private_jobs j JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id
      WHERE q.queue_name = ${ticketMailQueue(decodeId(ticket.id)!.uuid)} ORDER BY j.id`;
    expect(waiting.map((j) => [j.subject, j.jobLocked])).toEqual([
      ['Re: [#1] Slow relay', true],
      ['[#1] Slow relay: resolved', false],
    ]);
    expect(waiting[0]!.queueLockedBy).not.toBeNull();
    expect(header(mailsTo(customer)[1]!.raw, 'Subject')).toBe('Re: [#1] Slow relay');
    smtp.answerHeld();
    await eventually(() => mailsTo(customer).length === 3);
    expect(header(mailsTo(customer)[2]!.raw, 'Subject')).toBe('[#1] Slow relay: resolved');

    // The hourly upkeep deletes the ticket's queue once no job waits in it.
    await jobsDone(db, 'to', [customer]);
    const pool = new pg.Pool({ connectionString: inject('databaseUrl'), max: 1 });
    // Error listeners, as the worker's own pool has: graphile-worker warns of a pool without them.
    pool.on('error', () => {});
    pool.on('connect', (client) => client.on('error', () => {}));
    try {
      await purgeIdleJobQueues(pool);
    } finally {
      await pool.end();
    }
    const queues = await db.$queryRaw<unknown[]>`SELECT 1 FROM graphile_worker._private_job_queues WHERE queue_name = ${ticketMailQueue(decodeId(ticket.id)!.uuid)}`;
    expect(queues).toEqual([]);
  });

  test('a rolled-back change sends nothing', async () => {
    const t = await createTeam();
    const ticket = await newTicket(t.keys.write, { title: 'Rollback', customer: { email: `rb-${t.team.slug}@example.com` } });
    await eventually(() => mailsTo(`rb-${t.team.slug}@example.com`).length === 1);
    const { db, app } = testApp();
    const row = await db.ticket.findFirstOrThrow({ where: { teamId: t.team.id } });
    await expect(
      change({ db, bus: app.bus }, async ({ tx, record }) => {
        const updated = await tx.ticket.update({ where: { id: row.id }, data: { status: 'CLOSED' } });
        await record({ teamId: t.team.id, ticketId: row.id, customerId: row.customerId, type: 'UPDATED', actor: { kind: 'agent', id: null, name: null }, changes: { status: { old: 'NEW', new: 'CLOSED' } } }, { ticket: updated });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    await jobsDone(db, 'to', [`rb-${t.team.slug}@example.com`]); // nothing queued is left to send
    expect(mailsTo(`rb-${t.team.slug}@example.com`)).toHaveLength(1);
    expect((await db.ticket.findUniqueOrThrow({ where: { id: row.id } })).status).toBe('NEW');
    expect(ticket.status).toBe('NEW');
  });
});

describe('webhooks', () => {
  test('signed with the endpoint secret, retried after failures, every attempt recorded', async () => {
    const t = await createTeam();
    let secret = '';
    const receiver = await startReceiver({ secret: () => secret, failFirst: 2 });
    try {
      const created = (await execute(CreateEndpoint, { as: t.keys.admin, variables: { input: { url: receiver.url, events: ['ticket.created', 'ticket.message_added'] } } })).ok()
        .createWebhookEndpoint;
      secret = created.signingSecret;
      expect(secret).toMatch(/^whsec_/);
      const ticket = await newTicket(t.keys.write, { title: 'Hook me', body: 'hi' });
      await eventually(() => receiver.hits.length === 3);
      expect(receiver.hits.map((h) => [h.status, h.signatureValid])).toEqual([
        [500, true],
        [500, true],
        [200, true],
      ]);
      const body = JSON.parse(receiver.hits[2]!.body);
      expect(body).toMatchObject({ type: 'ticket.created', data: { ticket: { id: ticket.id, title: 'Hook me', number: 1 } } });
      expect(body.id).toMatch(/^evt_/);
      expect(receiver.hits[2]!.headers['webhook-id']).toBe(body.id);
      expect(new Set(receiver.hits.map((h) => h.headers['webhook-id'])).size).toBe(1);

      const deliveries = await eventually(async () => {
        const d = (await execute(Deliveries, { as: t.keys.admin, variables: { id: created.webhookEndpoint.id } })).ok().webhookDeliveries.edges.map((e) => e.node);
        return d.length === 3 && d;
      });
      expect(deliveries.map((d) => [d.attempt, d.succeeded, d.responseStatus, d.error])).toEqual([
        [3, true, 200, null],
        [2, false, 500, 'HTTP 500'],
        [1, false, 500, 'HTTP 500'],
      ]);
      expect(deliveries.every((d) => d.eventId === body.id && d.eventType === 'ticket.created' && d.durationMs! >= 0)).toBe(true);

      // Redelivery sends the same event again as a new attempt.
      const deliveryId = (await testApp().db.webhookDelivery.findFirstOrThrow({ where: { attempt: 3, endpointId: (await testApp().db.webhookEndpoint.findFirstOrThrow({ where: { teamId: t.team.id } })).id } })).id;
      const again = (await execute(Redeliver, { as: t.keys.admin, variables: { input: { deliveryId: encodeId('WebhookDelivery', deliveryId) } } })).ok();
      expect(again.redeliverWebhook.attempt).toBe(4);
      await eventually(() => receiver.hits.length === 4);
      expect(JSON.parse(receiver.hits[3]!.body).id).toBe(body.id);
    } finally {
      await receiver.close();
    }
  });

  test('internal notes go only to endpoints that opted in', async () => {
    const t = await createTeam();
    const secrets: Record<string, string> = {};
    const plain = await startReceiver({ secret: () => secrets.plain! });
    const internal = await startReceiver({ secret: () => secrets.internal! });
    try {
      secrets.plain = (await execute(CreateEndpoint, { as: t.keys.admin, variables: { input: { url: plain.url, events: ['ticket.message_added'] } } })).ok().createWebhookEndpoint.signingSecret;
      secrets.internal = (
        await execute(CreateEndpoint, { as: t.keys.admin, variables: { input: { url: internal.url, events: ['ticket.message_added'], includeInternal: true } } })
      ).ok().createWebhookEndpoint.signingSecret;
      const ticket = await newTicket(t.keys.write, { title: 'Notes' });
      await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: ticket.id, body: 'secret note', isInternal: true } } });
      await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: ticket.id, body: 'public reply' } } });
      await eventually(() => internal.hits.length === 2 && plain.hits.length === 1);
      await jobsDone(testApp().db, 'endpointId', await endpointIds(t.team.id)); // nothing more is coming
      expect(plain.hits.map((h) => JSON.parse(h.body).data.message.body)).toEqual(['public reply']);
      // Deliveries of different events go out side by side, in either order.
      expect(internal.hits.map((h) => JSON.parse(h.body).data.message.body).sort()).toEqual(['public reply', 'secret note']);
      expect([...plain.hits, ...internal.hits].every((h) => h.signatureValid)).toBe(true);
    } finally {
      await plain.close();
      await internal.close();
    }
  });

  test('an endpoint that stops including internal notes gets none of them again: no redelivery, no queued attempt', async () => {
    const t = await createTeam();
    let secret = '';
    const receiver = await startReceiver({ secret: () => secret });
    try {
      const created = (
        await execute(CreateEndpoint, { as: t.keys.admin, variables: { input: { url: receiver.url, events: ['ticket.message_added'], includeInternal: true } } })
      ).ok().createWebhookEndpoint;
      secret = created.signingSecret;
      const ticket = await newTicket(t.keys.write, { title: 'Opt out' });
      await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: ticket.id, body: 'secret note', isInternal: true } } });
      await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: ticket.id, body: 'public reply' } } });
      await eventually(() => receiver.hits.length === 2);
      const { db } = testApp();
      const endpointId = decodeId(created.webhookEndpoint.id)!.uuid;
      const deliveries = await eventually(async () => {
        const rows = await db.webhookDelivery.findMany({ where: { endpointId }, orderBy: { createdAt: 'asc' } });
        return rows.length === 2 && rows;
      });
      const noteDelivery = deliveries.find((d) => (d.payload as { data: { message: { isInternal: boolean } } }).data.message.isInternal)!;
      const replyDelivery = deliveries.find((d) => d !== noteDelivery)!;

      const optedOut = (await execute(UpdateEndpoint, { as: t.keys.admin, variables: { input: { id: created.webhookEndpoint.id, includeInternal: false } } })).ok();
      expect(optedOut.updateWebhookEndpoint.webhookEndpoint.includeInternal).toBe(false);

      // An admin's redelivery of the note is refused and queues nothing.
      const refused = await execute(Redeliver, { as: t.keys.admin, variables: { input: { deliveryId: encodeId('WebhookDelivery', noteDelivery.id) } } });
      expect(refused.fails('CONFLICT').message).toBe('The endpoint no longer receives this event (its event types or includeInternal changed)');
      // A retry of the note queued before the change is dropped when it runs.
      await enqueueWebhook(db, { endpointId, eventId: noteDelivery.eventId, eventType: 'ticket.message_added', body: JSON.stringify(noteDelivery.payload), attempt: 2, internal: true });
      // The public reply is still redelivered, and arrives after anything queued before it.
      const again = (await execute(Redeliver, { as: t.keys.admin, variables: { input: { deliveryId: encodeId('WebhookDelivery', replyDelivery.id) } } })).ok();
      expect(again.redeliverWebhook.attempt).toBe(2);
      await eventually(() => receiver.hits.length === 3);
      // The queued note has run (its job is gone) without a request.
      const noteKey = `webhook:${noteDelivery.eventId}:${endpointId}:2`;
      await eventually(async () => (await db.$queryRaw<unknown[]>`SELECT 1 FROM graphile_worker._private_jobs WHERE key = ${noteKey}`).length === 0);
      const bodies = receiver.hits.map((h) => JSON.parse(h.body).data.message.body);
      // The first two went out side by side, in either order; the redelivery came after them.
      expect(bodies.slice(0, 2).sort()).toEqual(['public reply', 'secret note']);
      expect(bodies[2]).toBe('public reply');
      expect(await db.webhookDelivery.count({ where: { endpointId, eventId: noteDelivery.eventId } })).toBe(1);
    } finally {
      await receiver.close();
    }
  });

  test('a rotated secret: deliveries carry signatures with the new and the old secret', async () => {
    const t = await createTeam();
    let secret = '';
    const receiver = await startReceiver({ secret: () => secret });
    try {
      const created = (await execute(CreateEndpoint, { as: t.keys.admin, variables: { input: { url: receiver.url, events: ['ticket.created'] } } })).ok().createWebhookEndpoint;
      const old = created.signingSecret;
      const fresh = (await execute(Rotate, { as: t.keys.admin, variables: { input: { id: created.webhookEndpoint.id } } })).ok().rotateWebhookSecret.signingSecret;
      expect(fresh).not.toBe(old);
      secret = old; // a receiver that has not switched yet still verifies
      await newTicket(t.keys.write, { title: 'rotated' });
      await eventually(() => receiver.hits.length === 1);
      expect(receiver.hits[0]!.signatureValid).toBe(true);
      expect(String(receiver.hits[0]!.headers['webhook-signature']).split(' ')).toHaveLength(2);
      secret = fresh;
      await newTicket(t.keys.write, { title: 'rotated 2' });
      await eventually(() => receiver.hits.length === 2);
      expect(receiver.hits[1]!.signatureValid).toBe(true);
    } finally {
      await receiver.close();
    }
  });

  test('URLs: https, or http for localhost outside production; bad event names refused', async () => {
    const t = await createTeam();
    const bad = [
      [{ url: 'http://example.com/hook', events: ['ticket.created'] }, 'input.url'],
      [{ url: 'ftp://localhost/x', events: ['ticket.created'] }, 'input.url'],
      [{ url: 'https://example.com/h', events: ['ticket.exploded'] }, 'input.events.0'],
      [{ url: 'https://example.com/h', events: [] }, 'input.events'],
    ] as const;
    for (const [input, path] of bad) {
      const res = await execute(CreateEndpoint, { as: t.keys.admin, variables: { input: input as never } });
      expect(res.fails('BAD_USER_INPUT').extensions!.fields[0].path).toBe(path);
    }
    expect(await testApp().db.webhookEndpoint.count({ where: { teamId: t.team.id } })).toBe(0);
  });
});

describe('failing endpoints and URL policy', () => {
  test('an endpoint failing for three days is disabled and the team gets an email', async () => {
    const t = await createTeam();
    const receiver = await startReceiver({ secret: () => '', failFirst: 1000 });
    try {
      const created = (await execute(CreateEndpoint, { as: t.keys.admin, variables: { input: { url: receiver.url, events: ['ticket.created'] } } })).ok()
        .createWebhookEndpoint;
      const { db } = testApp();
      const id = decodeId(created.webhookEndpoint.id)!.uuid;
      await db.webhookEndpoint.update({ where: { id }, data: { failingSince: new Date(Date.now() - 3 * 24 * 3600_000 - 1000) } });
      await newTicket(t.keys.write, { title: 'Nobody listens' });
      await eventually(async () => !(await db.webhookEndpoint.findUniqueOrThrow({ where: { id } })).enabled);
      await eventually(() => mailsTo(t.team.supportEmail!).some((m) => header(m.raw, 'Subject') === 'Webhook endpoint disabled'));
      expect(receiver.hits).toHaveLength(1);
      await newTicket(t.keys.write, { title: 'Still nobody' });
      await jobsDone(db, 'endpointId', [id]); // nothing queued is left to send
      expect(receiver.hits).toHaveLength(1); // disabled: nothing more is sent
    } finally {
      await receiver.close();
    }
  });

  test('production: https only, and no private, loopback or link-local destinations', async () => {
    const production = { production: true };
    expect(await refuseUrl('http://hooks.example.com/x', production)).toBe('must use https');
    expect(await refuseUrl('http://localhost:3000/x', production)).toBe('must use https');
    expect(await refuseUrl('https://127.0.0.1/x', production)).toBe('resolves to a loopback address');
    expect(await refuseUrl('https://localhost/x', production)).toMatch(/resolves to a loopback address/);
    expect(await refuseUrl('https://10.1.2.3/x', production)).toBe('resolves to a private address');
    expect(await refuseUrl('https://169.254.169.254/latest/meta-data', production)).toBe('resolves to a linkLocal address');
    expect(await refuseUrl('https://[::1]/x', production)).toBe('resolves to a loopback address');
    expect(await refuseUrl('https://user:pw@example.com/x', production)).toBe('must not contain credentials');
    expect(await refuseUrl('https://93.184.215.14/x', production)).toBeUndefined();
    const development = { production: false };
    expect(await refuseUrl('http://localhost:3000/x', development)).toBeUndefined();
    expect(await refuseUrl('http://example.com/x', development)).toMatch(/must use https/);
  });
});

describe('jobs survive a crash', () => {
  test('a server killed right after a commit: its jobs run when a worker starts', async () => {
    const t = await createTeam();
    const customer = `crash-${t.team.slug}@example.com`;
    // A server that runs no jobs, killed without a chance to clean up.
    const server = run('src/main.ts', [], cleanEnv({ DATABASE_URL: inject('databaseUrl'), JWT_SECRET, PORT: '0', MIGRATE_ON_START: 'false', WORKERS: '0', LOG_LEVEL: 'error' }));
    const [, base] = await server.waitFor(/GraphiQL: +(http:\/\/localhost:\d+)\/graphql/, 110_000); // a busy machine takes its time
    const res = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.write}` },
      body: JSON.stringify({ query: `mutation { createTicket(input: { title: "Crash", customer: { email: "${customer}" } }) { ticketId } }` }),
    });
    expect(((await res.json()) as { errors?: unknown }).errors).toBeUndefined();
    server.child.kill('SIGKILL');
    await server.exited;
    // This suite's worker picks the jobs up.
    await eventually(() => mailsTo(customer).length === 1);
  }, 180_000);
});

describe('upkeep', () => {
  test('idempotency records past their 24 hours are deleted by an hourly job; records within them stay', async () => {
    const { db } = testApp();
    const scope = `upkeep-${Date.now()}`;
    const hour = 3600_000;
    await db.idempotencyRecord.createMany({
      data: [
        { scope, key: 'expired', requestHash: 'h', response: { data: {} }, createdAt: new Date(Date.now() - 25 * hour), expiresAt: new Date(Date.now() - hour) },
        { scope, key: 'live', requestHash: 'h', response: { data: {} }, expiresAt: new Date(Date.now() + hour) },
      ],
    });
    // The worker registered the schedule when it started.
    const crons = await db.$queryRaw<Array<{ identifier: string }>>`
      SELECT identifier FROM graphile_worker._private_known_crontabs WHERE identifier = 'idempotency:purge'`;
    expect(crons).toEqual([{ identifier: 'idempotency:purge' }]);
    // The hourly job, queued now rather than at minute 17.
    await db.$executeRaw`SELECT graphile_worker.add_job('idempotency:purge')`;
    await eventually(async () => (await db.idempotencyRecord.count({ where: { scope } })) === 1);
    expect((await db.idempotencyRecord.findMany({ where: { scope }, select: { key: true } })).map((r) => r.key)).toEqual(['live']);
  });
});
