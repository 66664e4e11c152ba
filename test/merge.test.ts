// mergeTickets: duplicates folded into one ticket, for every party that looks at them.
import { afterAll, beforeAll, describe, expect, } from 'vitest';
import { mergedNotice } from '../src/domain/merge.js';
import type { JobWorker } from '../src/jobs/worker.js';
import { startTestWorker } from './support/jobs.js';
import { graphql } from './generated/index.js';
import { execute, testApp } from './support/app.js';
import { test } from './support/fixtures.js';
import { disposeLive, listening, subscribe, wsClient } from './support/live.js';
import { AddMessage, UpdateTicket, newTicket } from './support/operations.js';
import { eventually, startReceiver } from './support/receivers.js';

const Merge = graphql(`
  mutation MergeTickets($input: MergeTicketsInput!) {
    mergeTickets(input: $input) {
      mergedTicketIds
      ticket { id messageCount messages(first: 20) { edges { node { body isInternal sender } } } }
    }
  }
`);

const Thread = graphql(`
  query MergedThread($id: ID!) {
    ticket(id: $id) {
      id
      status
      closedAt
      messageCount
      mergedInto { id }
      messages(first: 20) { totalCount edges { node { body isInternal sender } } }
    }
  }
`);

const NewEndpoint = graphql(`
  mutation MergeNewEndpoint($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret } }
`);

let base: string;
let worker: JobWorker;

beforeAll(async () => {
  const { app, db } = testApp();
  base = await app.start(0);
  worker = await startTestWorker({
    db,
    // Webhooks only: emails are side-effects.test.ts's (its worker sends every file's).
    only: ['webhook:deliver'],
  });
});

afterAll(async () => {
  disposeLive();
  await worker?.stop();
});

const bodies = (t: { messages: { edges: Array<{ node: { body: string; isInternal: boolean; sender: string } }> } }) =>
  t.messages.edges.map((e) => [e.node.sender, e.node.body, e.node.isInternal]);

describe('mergeTickets', () => {
  test('copies the threads in order, closes each source with a notice, and tells events, webhooks, live consoles and the customer', async ({
    team,
    customer,
    app: { db },
  }) => {
    let secret = '';
    const receiver = await startReceiver({ secret: () => secret });
    secret = (await execute(NewEndpoint, { as: team.keys.admin, variables: { input: { url: receiver.url, events: ['ticket.merged', 'ticket.updated'] } } })).ok()
      .createWebhookEndpoint.signingSecret;
    const target = await newTicket(team.keys.write, { title: 'Cannot log in', body: 'Login fails', customerId: customer.id });
    const dup = await newTicket(team.keys.write, { title: 'Login again', body: 'Still failing', customerId: customer.id });
    (await execute(AddMessage, { as: team.tokens.agent, variables: { input: { ticketId: dup.id, body: 'Checking the logs', isInternal: true } } })).ok();

    const staff = subscribe(wsClient(base, team.tokens.agent), 'subscription { ticketEvents { type ticketId changedFields changes } }');
    const mine = subscribe(wsClient(base, customer.token), 'subscription { ticketEvents { type ticketId changedFields } }');
    await listening(team.team.id, 2);
    const res = (await execute(Merge, { as: team.tokens.agent, variables: { input: { sourceIds: [dup.id], targetId: target.id } } })).ok().mergeTickets;
    expect(res.mergedTicketIds).toEqual([dup.id]);
    expect(res.ticket!.messageCount).toBe(3);
    expect(bodies(res.ticket!)).toEqual([
      ['CUSTOMER', 'Login fails', false],
      ['CUSTOMER', 'Still failing', false],
      ['AGENT', 'Checking the logs', true],
    ]);

    const source = (await execute(Thread, { as: team.keys.read, variables: { id: dup.id } })).ok().ticket!;
    expect(source).toMatchObject({ status: 'CLOSED', closedAt: expect.any(String), mergedInto: { id: target.id }, messageCount: 3 });
    expect(bodies(source).at(-1)).toEqual(['SYSTEM', 'This ticket was merged into ticket #1, where the conversation continues.', false]);

    // The customer keeps their own conversation on the source, and sees the copies on the target.
    const theirs = (await execute(Thread, { as: customer.token, variables: { id: dup.id } })).ok().ticket!;
    expect(bodies(theirs)).toEqual([
      ['CUSTOMER', 'Still failing', false],
      ['SYSTEM', mergedNotice({ number: 1 } as never), false],
    ]);
    expect(bodies((await execute(Thread, { as: customer.token, variables: { id: target.id } })).ok().ticket!)).toEqual([
      ['CUSTOMER', 'Login fails', false],
      ['CUSTOMER', 'Still failing', false],
    ]);

    const changes = { status: { old: 'NEW', new: 'CLOSED' }, mergedInto: { old: null, new: target.id } };
    expect((await staff.waitFor(2)).map((r) => r.data?.ticketEvents)).toEqual([
      { type: 'MERGED', ticketId: dup.id, changedFields: ['status', 'mergedInto'], changes },
      { type: 'UPDATED', ticketId: target.id, changedFields: ['mergedFrom'], changes: { mergedFrom: { old: null, new: [dup.id] } } },
    ]);
    // The customer hears of the merge of their ticket; the target's merge bookkeeping is staff-only.
    const marker = await newTicket(team.keys.write, { title: 'marker', customerId: customer.id });
    expect((await mine.before((r) => r.data?.ticketEvents.ticketId === marker.id)).map((r) => r.data?.ticketEvents)).toEqual([
      { type: 'MERGED', ticketId: dup.id, changedFields: ['status', 'mergedInto'] },
    ]);

    await eventually(() => receiver.hits.length === 2, { what: () => `2 webhooks, got ${receiver.hits.length}` });
    const hooks = receiver.hits.map((h) => JSON.parse(h.body) as { type: string; data: { ticket: { id: string; mergedIntoId: string | null }; message?: { body: string } } });
    // Delivered by two workers at once: in either order.
    hooks.sort((x, y) => x.type.localeCompare(y.type));
    expect(hooks.map((h) => [h.type, h.data.ticket.id, h.data.ticket.mergedIntoId])).toEqual([
      ['ticket.merged', dup.id, target.id],
      ['ticket.updated', target.id, null],
    ]);
    expect(receiver.hits.every((h) => h.signatureValid)).toBe(true);
    expect(hooks[0]!.data.message!.body).toBe(mergedNotice({ number: 1 } as never));
    // One event per source and one on the target: no separate CLOSED or MESSAGE_ADDED for the notice.
    expect(await db.ticketEvent.count({ where: { teamId: team.team.id, type: { in: ['CLOSED', 'MESSAGE_ADDED'] } } })).toBe(1);
  });

  test("another customer's thread comes in as internal notes: the target's customer never reads it", async ({ team, customer, app: { db } }) => {
    const bob = await db.customer.create({ data: { teamId: team.team.id, name: 'Bob', email: `bob@${team.team.slug}.test` } });
    const target = await newTicket(team.keys.write, { title: 'Jane’s', body: 'Jane writes', customerId: customer.id });
    const bobs = await newTicket(team.keys.write, { title: 'Bob’s', body: 'Bob writes', customerId: bob.id });
    (await execute(Merge, { as: team.keys.write, variables: { input: { sourceIds: [bobs.id], targetId: target.id } } })).ok();
    expect(bodies((await execute(Thread, { as: team.keys.read, variables: { id: target.id } })).ok().ticket!)).toEqual([
      ['CUSTOMER', 'Jane writes', false],
      ['CUSTOMER', 'Bob writes', true],
    ]);
    const janes = (await execute(Thread, { as: customer.token, variables: { id: target.id } })).ok().ticket!;
    expect(bodies(janes)).toEqual([['CUSTOMER', 'Jane writes', false]]);
    expect(janes.messageCount).toBe(1);
  });

  test('refused: into itself, into a merged ticket, a merged source again, across teams; nothing is written', async ({ team, otherTeam, app: { db } }) => {
    const a = await newTicket(team.keys.write, { title: 'A' });
    const b = await newTicket(team.keys.write, { title: 'B' });
    const c = await newTicket(team.keys.write, { title: 'C' });
    const foreign = await newTicket(otherTeam.keys.write, { title: 'Foreign' });
    const merge = (sourceIds: string[], targetId: string, as = team.keys.write) => execute(Merge, { as, variables: { input: { sourceIds, targetId } } });

    expect((await merge([a.id], a.id)).fails('BAD_USER_INPUT').extensions?.fields).toEqual([
      { path: 'input.sourceIds.0', message: 'a ticket cannot be merged into itself' },
    ]);
    expect((await merge([], a.id)).fails('BAD_USER_INPUT').extensions?.fields).toEqual([{ path: 'input.sourceIds', message: 'name at least one ticket to merge' }]);
    (await merge([foreign.id], a.id)).fails('NOT_FOUND');
    (await merge([a.id], foreign.id)).fails('NOT_FOUND');
    (await merge([b.id], a.id, otherTeam.keys.write)).fails('NOT_FOUND');
    expect(await db.ticketEvent.count({ where: { type: 'MERGED', teamId: { in: [team.team.id, otherTeam.team.id] } } })).toBe(0);

    (await merge([b.id], a.id)).ok();
    expect((await merge([c.id], b.id)).fails('CONFLICT').message).toBe('The target ticket was merged into another: merge into that one');
    expect((await merge([b.id], c.id)).fails('CONFLICT').message).toBe('Ticket #2 is already merged');
    // A merged ticket stays CLOSED.
    (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: b.id, status: 'OPEN' } } })).fails('CONFLICT');
    expect(await db.ticketEvent.count({ where: { type: 'MERGED', teamId: team.team.id } })).toBe(1);
  });

  test('who may: staff with WRITE; customers and read-only keys FORBIDDEN, anonymous UNAUTHENTICATED', async ({ team, customer }) => {
    const a = await newTicket(team.keys.write, { title: 'A', customerId: customer.id });
    const b = await newTicket(team.keys.write, { title: 'B', customerId: customer.id });
    const input = { sourceIds: [b.id], targetId: a.id };
    (await execute(Merge, { as: customer.token, variables: { input } })).fails('FORBIDDEN');
    (await execute(Merge, { as: team.keys.read, variables: { input } })).fails('FORBIDDEN');
    (await execute(Merge, { variables: { input } })).fails('UNAUTHENTICATED');
    expect((await execute(Merge, { as: team.tokens.admin, variables: { input } })).ok().mergeTickets.mergedTicketIds).toEqual([b.id]);
  });
});
