// bulkUpdateTickets: by IDs now, each ticket on its own; by filter through a job.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, } from 'vitest';
import { bulkTasks } from '../src/domain/bulk.js';
import { encodeId } from '../src/ids.js';
import type { JobWorker } from '../src/jobs/worker.js';
import { startTestWorker } from './support/jobs.js';
import { graphql } from './generated/index.js';
import { execute, testApp } from './support/app.js';
import { test } from './support/fixtures.js';
import { disposeLive, listening, subscribe, wsClient } from './support/live.js';
import { GetTicket, newTicket } from './support/operations.js';
import { eventually, startReceiver } from './support/receivers.js';

const Bulk = graphql(`
  mutation BulkUpdate($input: BulkUpdateTicketsInput!) {
    bulkUpdateTickets(input: $input) {
      updatedIds
      updated { id status priority tags category assignee { id } }
      errors { ticketId code message }
      job { id total }
    }
  }
`);

const Job = graphql(`
  query BulkJobProgress($id: ID!) {
    bulkJob(id: $id) { id total done failed finished errors { ticketId code message } }
  }
`);

const NewEndpoint = graphql(`
  mutation BulkNewEndpoint($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret } }
`);

const Events = graphql(`
  query BulkHistory($id: ID!) {
    ticket(id: $id) { events(first: 10) { edges { node { type changedFields changes actor { kind name } } } } }
  }
`);

let base: string;
let worker: JobWorker;

beforeAll(async () => {
  const { app, db, bus } = testApp();
  base = await app.start(0);
  worker = await startTestWorker({
    db,
    // Webhooks and bulk jobs only: other files' emails are left to their own workers.
    only: ['webhook:deliver', 'tickets:bulk-update'],
    tasks: bulkTasks({ db, bus }),
  });
});

afterAll(async () => {
  disposeLive();
  await worker?.stop();
});

describe('bulkUpdateTickets by ids', () => {
  test('each valid ticket changes with its own events and webhooks; another team’s and a missing one are NOT_FOUND, the rest stand', async ({
    team,
    otherTeam,
    agent,
    customer,
  }) => {
    let secret = '';
    const receiver = await startReceiver({ secret: () => secret });
    secret = (await execute(NewEndpoint, { as: team.keys.admin, variables: { input: { url: receiver.url, events: ['ticket.updated', 'ticket.assigned'] } } })).ok()
      .createWebhookEndpoint.signingSecret;
    const a = await newTicket(team.keys.write, { title: 'A', tags: ['old'], customerId: customer.id });
    const b = await newTicket(team.keys.write, { title: 'B', tags: ['old', 'keep'] });
    const foreign = await newTicket(otherTeam.keys.write, { title: 'Not yours' });
    const missing = encodeId('Ticket', randomUUID());

    const staff = subscribe(wsClient(base, team.tokens.agent), 'subscription { ticketEvents { type ticketId changedFields } }');
    await listening(team.team.id, 1);
    const res = await execute(Bulk, {
      as: team.tokens.agent,
      variables: {
        input: {
          ids: [a.id, foreign.id, missing, b.id],
          patch: { status: 'PENDING', priority: 'HIGH', addTags: ['Bulk'], removeTags: ['old'], assigneeId: agent.id, category: 'billing' },
        },
      },
    });
    const out = res.ok().bulkUpdateTickets;
    expect(out.updatedIds).toEqual([a.id, b.id]);
    expect(out.updated).toEqual([
      { id: a.id, status: 'PENDING', priority: 'HIGH', tags: ['bulk'], category: 'billing', assignee: { id: agent.id } },
      { id: b.id, status: 'PENDING', priority: 'HIGH', tags: ['keep', 'bulk'], category: 'billing', assignee: { id: agent.id } },
    ]);
    expect(out.errors).toEqual([
      { ticketId: foreign.id, code: 'NOT_FOUND', message: 'Ticket not found' },
      { ticketId: missing, code: 'NOT_FOUND', message: 'Ticket not found' },
    ]);
    expect(out.job).toBeNull();
    // The other team's ticket is untouched.
    expect((await execute(GetTicket, { as: otherTeam.keys.read, variables: { id: foreign.id } })).ok().ticket).toMatchObject({ status: 'NEW', tags: [] });

    // Per ticket: an UPDATED and an ASSIGNED, live and in its history, as updateTicket records them.
    const fields = ['status', 'priority', 'category', 'tags', 'assigneeId'];
    const live = (await staff.waitFor(4)).map((r) => r.data?.ticketEvents);
    expect(live).toEqual([
      { type: 'UPDATED', ticketId: a.id, changedFields: fields },
      { type: 'ASSIGNED', ticketId: a.id, changedFields: ['assigneeId'] },
      { type: 'UPDATED', ticketId: b.id, changedFields: fields },
      { type: 'ASSIGNED', ticketId: b.id, changedFields: ['assigneeId'] },
    ]);
    const history = (await execute(Events, { as: team.keys.read, variables: { id: a.id } })).ok().ticket!.events!.edges.map((e) => e.node);
    expect(history.map((e) => [e.type, e.actor])).toEqual([
      ['CREATED', { kind: 'API_KEY', name: 'READ+WRITE' }],
      ['UPDATED', { kind: 'AGENT', name: 'Alex Agent' }],
      ['ASSIGNED', { kind: 'AGENT', name: 'Alex Agent' }],
    ]);
    await eventually(() => receiver.hits.length === 4, { what: () => `4 webhooks, got ${receiver.hits.length}` });
    const hooks = receiver.hits.map((h) => JSON.parse(h.body) as { type: string; data: { ticket: { id: string } } });
    expect(hooks.map((h) => [h.type, h.data.ticket.id]).sort()).toEqual(
      [
        ['ticket.assigned', a.id],
        ['ticket.assigned', b.id],
        ['ticket.updated', a.id],
        ['ticket.updated', b.id],
      ].sort(),
    );
    expect(receiver.hits.every((h) => h.signatureValid)).toBe(true);
  });

  test('every rule still applies to each ticket: one breaking it is listed, the others change', async ({ team }) => {
    const full = await newTicket(team.keys.write, { title: 'Full', tags: Array.from({ length: 20 }, (_, i) => `t${i}`) });
    const fine = await newTicket(team.keys.write, { title: 'Fine' });
    const out = (await execute(Bulk, { as: team.keys.write, variables: { input: { ids: [full.id, fine.id], patch: { addTags: ['one-more'] } } } })).ok()
      .bulkUpdateTickets;
    expect(out.updatedIds).toEqual([fine.id]);
    expect(out.errors).toEqual([{ ticketId: full.id, code: 'BAD_USER_INPUT', message: expect.any(String) }]);
    expect((await execute(GetTicket, { as: team.keys.read, variables: { id: full.id } })).ok().ticket!.tags).toHaveLength(20);
  });

  test('bad input writes nothing: over 100 ids, an empty patch, both ids and filter, a malformed id', async ({ team, app: { db } }) => {
    const t = await newTicket(team.keys.write, { title: 'Stays' });
    const cases = [
      [{ ids: Array.from({ length: 101 }, () => t.id), patch: { status: 'OPEN' } }, [{ path: 'input.ids', message: 'at most 100 IDs: use filter for more' }]],
      [{ ids: [t.id], patch: {} }, [{ path: 'input.patch', message: 'must change at least one field' }]],
      [{ ids: [t.id], filter: {}, patch: { status: 'OPEN' } }, [{ path: 'input', message: 'give either ids or filter' }]],
      [{ patch: { status: 'OPEN' } }, [{ path: 'input', message: 'give either ids or filter' }]],
      [{ ids: [t.id, 'nonsense'], patch: { status: 'OPEN' } }, [{ path: 'input.ids.1', message: '"nonsense" is not a valid Ticket ID' }]],
      [{ ids: [t.id], patch: { category: 'Not A Slug!' } }, [{ path: 'input.patch.category', message: expect.any(String) }]],
    ] as const;
    for (const [input, fields] of cases) {
      const res = await execute(Bulk, { as: team.keys.write, variables: { input: input as never } });
      expect(res.fails('BAD_USER_INPUT').extensions?.fields).toEqual(fields);
    }
    // Only the ticket's CREATED event: no case wrote anything.
    expect(await db.ticketEvent.count({ where: { teamId: team.team.id } })).toBe(1);
  });

  test('who may: staff with WRITE; customers and read-only keys FORBIDDEN, anonymous UNAUTHENTICATED', async ({ team, customer, ticket }) => {
    const input = { ids: [ticket.id], patch: { status: 'OPEN' as const } };
    (await execute(Bulk, { as: customer.token, variables: { input } })).fails('FORBIDDEN');
    (await execute(Bulk, { as: team.keys.read, variables: { input } })).fails('FORBIDDEN');
    (await execute(Bulk, { variables: { input } })).fails('UNAUTHENTICATED');
    expect((await execute(Bulk, { as: team.tokens.admin, variables: { input } })).ok().bulkUpdateTickets.updatedIds).toEqual([ticket.id]);
  });

  test('an Idempotency-Key covers the whole request: the same request again replays it and changes nothing more', async ({ team, app: { db } }) => {
    const a = await newTicket(team.keys.write, { title: 'A' });
    const b = await newTicket(team.keys.write, { title: 'B' });
    const send = () =>
      execute(Bulk, { as: team.keys.write, headers: { 'idempotency-key': `bulk-${a.id}` }, variables: { input: { ids: [a.id, b.id], patch: { addTags: ['x'] } } } });
    const first = (await send()).ok();
    const again = (await send()).ok();
    expect(again).toEqual(first);
    expect(first.bulkUpdateTickets.updatedIds).toEqual([a.id, b.id]);
    expect(await db.ticketEvent.count({ where: { teamId: team.team.id, type: 'UPDATED' } })).toBe(2);
  });
});

describe('bulkUpdateTickets by filter', () => {
  test('runs as a job: bulkJob shows its progress, each ticket gets its own event, others are untouched', async ({ team, otherTeam, agent, customer }) => {
    const chosen = [];
    for (const title of ['one', 'two', 'three']) chosen.push(await newTicket(team.keys.write, { title: `Batch ${title}`, tags: ['batch'] }));
    const other = await newTicket(team.keys.write, { title: 'Not in the batch' });
    await newTicket(otherTeam.keys.write, { title: 'Other team batch', tags: ['batch'] });

    const out = (await execute(Bulk, { as: team.tokens.agent, variables: { input: { filter: { tags: ['batch'] }, patch: { status: 'RESOLVED' } } } })).ok()
      .bulkUpdateTickets;
    expect(out).toMatchObject({ updatedIds: [], errors: [], job: { total: 3 } });
    const jobId = out.job!.id;
    expect(jobId).toMatch(/^bulk_/);
    const progress = await eventually(async () => {
      const job = (await execute(Job, { as: team.keys.read, variables: { id: jobId } })).ok().bulkJob;
      return job?.finished ? job : undefined;
    });
    expect(progress).toEqual({ id: jobId, total: 3, done: 3, failed: 0, finished: true, errors: [] });
    for (const t of chosen) {
      const read = (await execute(GetTicket, { as: team.keys.read, variables: { id: t.id } })).ok().ticket!;
      expect(read.status).toBe('RESOLVED');
      const events = (await execute(Events, { as: team.keys.read, variables: { id: t.id } })).ok().ticket!.events!.edges.map((e) => e.node);
      expect(events.map((e) => [e.type, e.actor?.name])).toEqual([
        ['CREATED', 'READ+WRITE'],
        ['UPDATED', 'Alex Agent'],
        ['CLOSED', 'Alex Agent'],
      ]);
    }
    expect((await execute(GetTicket, { as: team.keys.read, variables: { id: other.id } })).ok().ticket!.status).toBe('NEW');

    // The job is the team's staff's: another team gets NOT_FOUND, a customer FORBIDDEN.
    (await execute(Job, { as: otherTeam.keys.read, variables: { id: jobId } })).fails('NOT_FOUND');
    (await execute(Job, { as: customer.token, variables: { id: jobId } })).fails('FORBIDDEN');
    expect(agent.id).toBeTruthy();
  });

  test('a search filter chooses the tickets as the search finds them', async ({ team }) => {
    const hit = await newTicket(team.keys.write, { title: 'Quiet', body: 'the flux capacitor hums' });
    await newTicket(team.keys.write, { title: 'Other', body: 'nothing to see' });
    const out = (await execute(Bulk, { as: team.keys.write, variables: { input: { filter: { search: 'capacitor' }, patch: { priority: 'URGENT' } } } })).ok()
      .bulkUpdateTickets;
    expect(out.job!.total).toBe(1);
    await eventually(async () => (await execute(Job, { as: team.keys.read, variables: { id: out.job!.id } })).ok().bulkJob?.finished);
    expect((await execute(GetTicket, { as: team.keys.read, variables: { id: hit.id } })).ok().ticket!.priority).toBe('URGENT');
  });
});
