// Subscriptions on one server process (in-process bus): what each subscriber
// receives, catch-up, endings, and failures.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { encodeId } from '../src/ids.js';
import { createEventBus, SlowConsumerError, type BusEvent } from '../src/live/bus.js';
import { signToken } from '../src/auth/tokens.js';
import { execute, JWT_SECRET, testApp } from './support/app.js';
import { createTeam } from './support/fixtures.js';
import { disposeLive, listening, subscribe, subscribeSse, wsClient, type Received } from './support/live.js';
import { AddMessage, UpdateTicket, newTicket } from './support/operations.js';
import { eventually } from './support/receivers.js';
import { graphql } from './generated/index.js';
import { SECRETS, createWorld } from './support/world.js';

const EVENTS = `subscription($filter: TicketEventFilter, $after: String) {
  ticketEvents(filter: $filter, after: $after) { cursor type ticketId changedFields message { body isInternal } }
}`;
const STAFF_EVENTS = `subscription($after: String) {
  ticketEvents(after: $after) { cursor type ticketId changedFields changes actor { kind name } }
}`;

const DeleteTicket = graphql(`mutation LiveDelete($input: DeleteTicketInput!) { deleteTicket(input: $input) { deletedTicketId } }`);
const RevokeKey = graphql(`mutation LiveRevoke($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id } } }`);
const NewKey = graphql(`mutation LiveKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }`);

let base: string;
beforeAll(async () => {
  base = await testApp().app.start(0);
});
afterAll(async () => {
  disposeLive();
  await testApp().app.stop();
});

const events = (received: Array<{ data?: Record<string, any> | null }>) =>
  received.map((r) => r.data?.ticketEvents as { cursor: string; type: string; ticketId: string; changedFields: string[]; message: unknown });

describe('one execution per live event for subscribers who see alike', () => {
  test('equal operations and visibility share one execution; each role still gets only what it may see', async () => {
    const t = await createTeam();
    const { db, sql } = testApp();
    const second = await db.agent.create({ data: { teamId: t.team.id, name: 'Bea Agent', email: `bea@${t.team.slug}.test`, role: 'AGENT' } });
    const bea = await signToken(JWT_SECRET, { sub: encodeId('Agent', second.id), team: t.teamId, role: 'agent', email: second.email }, '1h');
    const ticket = await newTicket(t.keys.write, { title: 'Shared', customer: { email: t.customer.email } });
    const DOC = 'subscription { ticketEvents { type changedFields ticket { category tags } } }';
    // Three staff agents' consoles (two of one agent, one of another): one visibility.
    const staff = [t.tokens.agent, t.tokens.agent, bea].map((token) => subscribe(wsClient(base, token), DOC));
    // The ticket's customer: another visibility, another execution.
    const customer = subscribe(wsClient(base, t.tokens.customer), DOC);
    await listening(t.team.id, 4);

    sql.length = 0;
    await execute(UpdateTicket, { as: t.keys.write, variables: { input: { id: ticket.id, notes: SECRETS.notes, category: 'billing' } } });
    for (const sub of [...staff, customer]) await sub.waitFor(1);
    // Each execution ran before its result was sent: with every subscriber served, all have run.
    const reads = sql.filter((q) => q.startsWith('SELECT') && q.includes('"category"') && !q.includes('"notes"'));
    // A change after it: once that is here, nothing more of the first is on its way.
    await execute(UpdateTicket, { as: t.keys.write, variables: { input: { id: ticket.id, category: 'last' } } });
    const last = (r: Received) => r.data?.ticketEvents.ticket.category === 'last';

    for (const sub of staff) {
      expect(await sub.before(last)).toEqual([{ data: { ticketEvents: { type: 'UPDATED', changedFields: ['category', 'notes'], ticket: { category: 'billing', tags: [] } } } }]);
    }
    expect(await customer.before(last)).toEqual([{ data: { ticketEvents: { type: 'UPDATED', changedFields: ['category'], ticket: { category: 'billing', tags: [] } } } }]);
    // The subscription's own read of the ticket (it alone selects just these columns) ran
    // once per visibility, not once per subscriber.
    expect(reads).toHaveLength(2);
  });
});

describe('subscriptions end cleanly', () => {
  test('a graphql-ws unsubscribe and an SSE disconnect each release their subscription on the server', async () => {
    const t = await createTeam();
    const open = async () => Number(/^ticketql_subscriptions_open (\d+)/m.exec(await (await fetch(`${base}/metrics`)).text())![1]);
    const waitFor = async (expected: number) => {
      await eventually(async () => (await open()) === expected).catch(() => {});
      return open();
    };
    const before = await open();
    const ws = subscribe(wsClient(base, t.keys.read), EVENTS);
    const sse = subscribeSse(base, t.keys.read, EVENTS);
    expect(await waitFor(before + 2)).toBe(before + 2);
    ws.stop();
    expect(await waitFor(before + 1)).toBe(before + 1);
    sse.stop();
    expect(await waitFor(before)).toBe(before);
  });
});

describe('ticketEvents over graphql-ws', () => {
  test('staff receive every event of their team, with changes and the actor, in log order', async () => {
    const t = await createTeam();
    const other = await createTeam();
    const sub = subscribe(wsClient(base, t.tokens.agent), STAFF_EVENTS);
    await listening(t.team.id, 1);
    const ticket = await newTicket(t.keys.write, { title: 'Live', body: 'hello' });
    await newTicket(other.keys.write, { title: 'Not for them' });
    await execute(UpdateTicket, { as: t.tokens.admin, variables: { input: { id: ticket.id, status: 'RESOLVED', notes: 'n' } } });
    // Events come in log order: once the event of a later ticket is here, no earlier one is still on its way.
    const last = await newTicket(t.keys.write, { title: 'Last' });
    const received = await sub.before((r) => r.data?.ticketEvents.ticketId === last.id);
    const got = events(received);
    expect(received).toHaveLength(3);
    expect(got.map((e) => [e.type, e.ticketId, e.changedFields])).toEqual([
      ['CREATED', ticket.id, []],
      ['UPDATED', ticket.id, ['status', 'notes']],
      ['CLOSED', ticket.id, ['status']],
    ]);
    expect(got.map((e) => Number(e.cursor))).toEqual([1, 2, 3]);
    expect(sub.received[1]!.data!.ticketEvents).toMatchObject({
      changes: { status: { old: 'NEW', new: 'RESOLVED' }, notes: { old: null, new: 'n' } },
      actor: { kind: 'AGENT', name: 'Ada Admin' },
    });
  });

  test('a customer receives only their tickets’ events: no internal note, no staff-only update, filtered changedFields', async () => {
    const w = await createWorld();
    const ownerSub = subscribe(wsClient(base, w.credentials.owner), EVENTS);
    const otherSub = subscribe(wsClient(base, w.credentials.otherCustomer), EVENTS);
    await listening(w.a.team.id, 2);
    const as = w.credentials.agentToken;
    await execute(AddMessage, { as, variables: { input: { ticketId: w.ids.ticket, body: SECRETS.internal, isInternal: true } } });
    await execute(UpdateTicket, { as, variables: { input: { id: w.ids.ticket, notes: SECRETS.notes, metadata: { k: SECRETS.metadata } } } });
    await execute(UpdateTicket, { as, variables: { input: { id: w.ids.ticket, notes: 'more', priority: 'HIGH' } } });
    await execute(AddMessage, { as, variables: { input: { ticketId: w.ids.ticket, body: 'Public reply' } } });
    // Then one change each customer sees: once it is here, nothing before it is still on its way.
    await execute(AddMessage, { as, variables: { input: { ticketId: w.ids.ticket, body: 'Last word' } } });
    const ottos = await newTicket(w.a.tokens.agent, { title: 'Otto asks', customer: { email: `otto@${w.a.team.slug}.test` } });
    const received = await ownerSub.before((r) => r.data?.ticketEvents.message?.body === 'Last word');
    const got = events(received);
    expect(received).toHaveLength(2);
    expect(got.map((e) => [e.type, e.changedFields, e.message])).toEqual([
      ['UPDATED', ['priority'], null],
      ['MESSAGE_ADDED', [], { body: 'Public reply', isInternal: false }],
    ]);
    // Cursors are positions in the team's log (the world's ticket was created at 1): the
    // events the customer did not see leave gaps.
    expect(got.map((e) => Number(e.cursor))).toEqual([4, 5]);
    expect(JSON.stringify(received)).not.toMatch(new RegExp(Object.values(SECRETS).join('|')));
    expect(await otherSub.before((r) => r.data?.ticketEvents.ticketId === ottos.id)).toEqual([]);
  });

  test('catch-up: `after` replays exactly the events after the cursor, then continues live without a duplicate', async () => {
    const t = await createTeam();
    const ticket = await newTicket(t.keys.write, { title: 'Catch up' });
    for (const status of ['OPEN', 'PENDING', 'IN_PROGRESS'] as const) {
      await execute(UpdateTicket, { as: t.keys.write, variables: { input: { id: ticket.id, status } } });
    }
    // Events 1..4 exist; a console that saw up to 2 reconnects.
    const sub = subscribe(wsClient(base, t.keys.read), EVENTS, { after: '2' });
    const replayed = events(await sub.waitFor(2));
    expect(replayed.map((e) => e.cursor)).toEqual(['3', '4']);
    await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: ticket.id, body: 'live' } } });
    await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: ticket.id, body: 'last' } } });
    const all = events(await sub.before((r) => r.data?.ticketEvents.message?.body === 'last'));
    expect(all.map((e) => [e.cursor, e.type])).toEqual([
      ['3', 'UPDATED'],
      ['4', 'UPDATED'],
      ['5', 'MESSAGE_ADDED'],
    ]);
  });

  test('filters by ticket and type', async () => {
    const t = await createTeam();
    const a = await newTicket(t.keys.write, { title: 'A' });
    const b = await newTicket(t.keys.write, { title: 'B' });
    const sub = subscribe(wsClient(base, t.keys.read), EVENTS, { filter: { ticketId: b.id, types: ['MESSAGE_ADDED'] } });
    await listening(t.team.id, 1);
    await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: a.id, body: 'to A' } } });
    await execute(UpdateTicket, { as: t.keys.write, variables: { input: { id: b.id, title: 'B2' } } });
    await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: b.id, body: 'to B' } } });
    await execute(AddMessage, { as: t.keys.write, variables: { input: { ticketId: b.id, body: 'last' } } });
    const got = events(await sub.before((r) => r.data?.ticketEvents.message?.body === 'last'));
    expect(got).toEqual([expect.objectContaining({ type: 'MESSAGE_ADDED', ticketId: b.id, message: { body: 'to B', isInternal: false } })]);
  });

  test('a bad credential closes the socket with 4403; none at all too', async () => {
    for (const credential of ['sk_live_00000000000000000000000000000000', undefined]) {
      const client = wsClient(base, credential);
      const closed = await client.closed;
      expect(closed.code).toBe(4403);
    }
  });

  test('a revoked key’s subscription ends', async () => {
    const t = await createTeam();
    const key = (await execute(NewKey, { as: t.keys.admin, variables: { input: { name: 'console', scopes: ['READ'] } } })).ok().createApiKey;
    const sub = subscribe(wsClient(base, key.secret), EVENTS);
    await listening(t.team.id, 1);
    await execute(RevokeKey, { as: t.keys.admin, variables: { input: { id: key.apiKey.id } } });
    await sub.completed;
    expect(sub.received).toEqual([]);
  });
});

describe('ticketUpdated and messageAdded', () => {
  test('ticketUpdated sends the ticket as the subscriber sees it, and ends when the ticket is deleted', async () => {
    const w = await createWorld();
    const sub = subscribe(wsClient(base, w.credentials.owner), 'subscription($id: ID!) { ticketUpdated(id: $id) { title status messageCount } }', {
      id: w.ids.ticket,
    });
    await listening(w.a.team.id, 1);
    await execute(UpdateTicket, { as: w.credentials.agentToken, variables: { input: { id: w.ids.ticket, status: 'OPEN' } } });
    await execute(AddMessage, { as: w.credentials.agentToken, variables: { input: { ticketId: w.ids.ticket, body: 'secret', isInternal: true } } });
    await execute(AddMessage, { as: w.credentials.agentToken, variables: { input: { ticketId: w.ids.ticket, body: 'Hello' } } });
    await sub.waitFor(2);
    await execute(DeleteTicket, { as: w.credentials.adminKey, variables: { input: { id: w.ids.ticket } } });
    await sub.completed;
    expect(sub.received.map((r) => r.data!.ticketUpdated)).toEqual([
      { title: 'Owner ticket', status: 'OPEN', messageCount: 2 },
      { title: 'Owner ticket', status: 'OPEN', messageCount: 3 },
    ]);
  });

  test('messageAdded: staff get internal notes, customers never; another customer’s ticket is NOT_FOUND', async () => {
    const w = await createWorld();
    const query = 'subscription($ticketId: ID!) { messageAdded(ticketId: $ticketId) { body isInternal sender } }';
    const staff = subscribe(wsClient(base, w.credentials.agentToken), query, { ticketId: w.ids.ticket });
    const owner = subscribe(wsClient(base, w.credentials.owner), query, { ticketId: w.ids.ticket });
    const other = subscribe(wsClient(base, w.credentials.otherCustomer), query, { ticketId: w.ids.ticket });
    await other.completed;
    expect(other.received[0]!.errors![0]!.extensions).toMatchObject({ code: 'NOT_FOUND' });
    await listening(w.a.team.id, 2);
    await execute(AddMessage, { as: w.credentials.agentToken, variables: { input: { ticketId: w.ids.ticket, body: 'note', isInternal: true } } });
    await execute(AddMessage, { as: w.credentials.agentToken, variables: { input: { ticketId: w.ids.ticket, body: 'reply' } } });
    await execute(AddMessage, { as: w.credentials.agentToken, variables: { input: { ticketId: w.ids.ticket, body: 'last' } } });
    const last = (r: Received) => r.data?.messageAdded.body === 'last';
    expect((await staff.before(last)).map((r) => r.data!.messageAdded.body)).toEqual(['note', 'reply']);
    expect((await owner.before(last)).map((r) => r.data!.messageAdded)).toEqual([{ body: 'reply', isInternal: false, sender: 'AGENT' }]);
  });
});

describe('server-sent events', () => {
  test('ticketEvents streams over SSE with the same credentials and filtering', async () => {
    const w = await createWorld();
    const sub = subscribeSse(base, w.credentials.owner!, EVENTS);
    await listening(w.a.team.id, 1);
    await execute(AddMessage, { as: w.credentials.agentToken, variables: { input: { ticketId: w.ids.ticket, body: 'internal', isInternal: true } } });
    await execute(AddMessage, { as: w.credentials.agentToken, variables: { input: { ticketId: w.ids.ticket, body: 'over SSE' } } });
    await execute(AddMessage, { as: w.credentials.agentToken, variables: { input: { ticketId: w.ids.ticket, body: 'last' } } });
    const got = events(await sub.before((r) => r.data?.ticketEvents.message?.body === 'last'));
    expect(got).toEqual([expect.objectContaining({ type: 'MESSAGE_ADDED', message: { body: 'over SSE', isInternal: false } })]);
    sub.stop();
  });
});

describe('the direct lane over graphql-ws', () => {
  test('an event whose shared result has errors reaches each subscriber masked with its own request id, in its place among events sent directly', async () => {
    const t = await createTeam();
    const { app, db } = testApp();
    const ticket = await db.ticket.create({ data: { teamId: t.team.id, number: 1, title: 'Lane' } });
    const { eventSeq } = await db.team.update({ where: { id: t.team.id }, data: { eventSeq: { increment: 1 } } });
    const logged = await db.ticketEvent.create({
      data: { seq: eventSeq, teamId: t.team.id, ticketId: ticket.id, type: 'UPDATED', changedFields: ['title'], actor: { kind: 'SYSTEM' } },
    });
    // occurredAt is not on the bus: each event's is read from the log by its id.
    const DOC = 'subscription { ticketEvents { cursor occurredAt } }';
    const subs = [subscribe(wsClient(base, t.keys.read), DOC), subscribe(wsClient(base, t.keys.read), DOC)];
    await listening(t.team.id, 2);
    const live = (seq: bigint, id: string): BusEvent => ({
      kind: 'ticket-event', id, seq: String(seq), teamId: t.team.id, ticketId: ticket.id, customerId: null, messageId: null, isInternal: false, type: 'UPDATED', changedFields: ['title'],
    });
    // Three events in turn; the second names a row the log lacks, so its result has an error.
    app.bus.publish(live(eventSeq + 1n, logged.id));
    app.bus.publish(live(eventSeq + 2n, randomUUID()));
    app.bus.publish(live(eventSeq + 3n, logged.id));
    const occurredAt = logged.occurredAt.toISOString();
    const requestIds: unknown[] = [];
    for (const sub of subs) {
      const [first, second, third] = await sub.waitFor(3);
      expect(first).toEqual({ data: { ticketEvents: { cursor: String(eventSeq + 1n), occurredAt } } });
      expect(second!.errors).toEqual([{ message: 'Unexpected error', locations: expect.any(Array), path: ['ticketEvents', 'occurredAt'], extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: expect.any(String) } }]);
      requestIds.push(second!.errors![0]!.extensions!.requestId);
      expect(third).toEqual({ data: { ticketEvents: { cursor: String(eventSeq + 3n), occurredAt } } });
    }
    expect(requestIds[0]).not.toEqual(requestIds[1]);
  });
});

describe('events that reach a process out of order', () => {
  // Another process may publish event n+1 before this one publishes event n.
  const busEvent = (teamId: string, ticketId: string, seq: bigint, customerId: string | null = null): BusEvent => ({
    kind: 'ticket-event', id: `e${seq}`, seq: String(seq), teamId, ticketId, customerId, messageId: null, isInternal: false, type: 'UPDATED', changedFields: ['status'],
  });
  /** A team with one ticket and a staff subscriber to its events. */
  async function watchedTicket(title: string) {
    const t = await createTeam();
    const ticket = await testApp().db.ticket.create({ data: { teamId: t.team.id, number: 1, title } });
    const sub = subscribe(wsClient(base, t.keys.read), EVENTS);
    await listening(t.team.id, 1);
    return { teamId: t.team.id, ticketId: ticket.id, sub };
  }
  /** An event written to the log by "another process" whose publish was lost (Redis away); its seq. */
  async function loggedOnly(teamId: string, ticketId: string): Promise<bigint> {
    const { db } = testApp();
    const { eventSeq } = await db.team.update({ where: { id: teamId }, data: { eventSeq: { increment: 1 } } });
    await db.ticketEvent.create({ data: { seq: eventSeq, teamId, ticketId, type: 'ASSIGNED', changedFields: ['assignee'], actor: { kind: 'SYSTEM' } } });
    return eventSeq;
  }

  test('are delivered in log order from the bus, without reading the log', async () => {
    const { teamId, ticketId, sub } = await watchedTicket('Reordered');
    const { app, db, sql } = testApp();
    const { eventSeq } = await db.team.findUniqueOrThrow({ where: { id: teamId } });
    const logReads = () => sql.filter((q) => q.includes('FROM "public"."ticket_events"')).length;
    const readsBefore = logReads();
    app.bus.publish(busEvent(teamId, ticketId, eventSeq + 2n));
    app.bus.publish(busEvent(teamId, ticketId, eventSeq + 1n));
    const got = events(await sub.waitFor(2));
    expect(got.map((e) => BigInt(e.cursor))).toEqual([eventSeq + 1n, eventSeq + 2n]);
    expect(logReads()).toBe(readsBefore);
  });

  test('one that never comes over the bus is read from the log, in its place', async () => {
    const { teamId, ticketId, sub } = await watchedTicket('Missed');
    const eventSeq = await loggedOnly(teamId, ticketId);
    testApp().app.bus.publish(busEvent(teamId, ticketId, eventSeq + 1n));
    const got = events(await sub.waitFor(2));
    expect(got.map((e) => [BigInt(e.cursor), e.type])).toEqual([
      [eventSeq, 'ASSIGNED'],
      [eventSeq + 1n, 'UPDATED'],
    ]);
  });

  test('the subscribers of a process that miss the same event read it from the log once, each keeping what it may see', async () => {
    const t = await createTeam();
    const { app, db, sql } = testApp();
    const ticket = await db.ticket.create({ data: { teamId: t.team.id, number: 1, title: 'Gap', customerId: t.customer.id } });
    const staff = Array.from({ length: 12 }, () => subscribe(wsClient(base, t.keys.read), EVENTS));
    const customer = subscribe(wsClient(base, t.tokens.customer), EVENTS);
    await listening(t.team.id, 13);
    // A note logged by "another process" whose publish was lost: staff must get it, the customer never.
    const { eventSeq: note } = await db.team.update({ where: { id: t.team.id }, data: { eventSeq: { increment: 1 } } });
    await db.ticketEvent.create({
      data: { seq: note, teamId: t.team.id, ticketId: ticket.id, customerId: t.customer.id, type: 'MESSAGE_ADDED', isInternal: true, actor: { kind: 'agent' } },
    });
    const logReads = () => sql.filter((q) => q.includes('FROM "public"."ticket_events"')).length;
    const readsBefore = logReads();
    app.bus.publish(busEvent(t.team.id, ticket.id, note + 1n, t.customer.id));
    for (const sub of staff) expect(events(await sub.waitFor(2)).map((e) => [BigInt(e.cursor), e.type])).toEqual([[note, 'MESSAGE_ADDED'], [note + 1n, 'UPDATED']]);
    expect(events(await customer.waitFor(1)).map((e) => [BigInt(e.cursor), e.type])).toEqual([[note + 1n, 'UPDATED']]);
    expect(logReads() - readsBefore).toBe(1);
  });

  test('a steady stream of later events does not hold back the one that is missing', async () => {
    const { teamId, ticketId, sub } = await watchedTicket('Busy');
    const missing = await loggedOnly(teamId, ticketId);
    // Later events keep coming, one per poll (far closer together than the wait for the
    // missing one), until the missing one arrives: were that wait renewed by every
    // arrival, it never would.
    let later = 0;
    await eventually(
      () => {
        testApp().app.bus.publish(busEvent(teamId, ticketId, missing + BigInt(++later)));
        return sub.received.length > 0;
      },
      { what: 'the missing event while later ones keep coming' },
    );
    const got = events(await sub.waitFor(later + 1));
    expect(got.map((e) => BigInt(e.cursor))).toEqual(Array.from({ length: later + 1 }, (_, i) => missing + BigInt(i)));
  });
});

describe('the event bus', () => {
  test('hundreds of subscribers of one team in one process: each gets the event, and Node warns of no leak', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const bus = createEventBus({});
      const subs = Array.from({ length: 300 }, () => bus.subscribe('team-many'));
      bus.publish({ kind: 'team-deleted', teamId: 'team-many' });
      const got = await Promise.all(subs.map((s) => s.next()));
      expect(got.every((r) => r.value?.kind === 'team-deleted')).toBe(true);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('a subscriber that falls behind is ended instead of growing memory', async () => {
    const bus = createEventBus({});
    const teamId = 'team-1';
    const sub = bus.subscribe(teamId, 3);
    const event = (n: number): BusEvent => ({
      kind: 'ticket-event', id: String(n), seq: String(n), teamId, ticketId: 't', customerId: null, messageId: null, isInternal: false, type: 'UPDATED', changedFields: [],
    });
    for (let n = 1; n <= 5; n++) bus.publish(event(n));
    await expect(sub.next()).rejects.toBeInstanceOf(SlowConsumerError);
    // Others are unaffected.
    const other = bus.subscribe(teamId, 3);
    bus.publish(event(6));
    expect((await other.next()).value).toMatchObject({ seq: '6' });
  });

  test('a slow WebSocket subscriber is disconnected with a clear close reason', async () => {
    const t = await createTeam();
    const { bus } = testApp().app;
    const client = wsClient(base, t.keys.read);
    const ws = subscribe(client, EVENTS);
    await listening(t.team.id, 1);
    // Far more events than a subscriber may have waiting, published at once.
    for (let n = 1; n <= 1500; n++) {
      bus.publish({ kind: 'ticket-event', id: `x${n}`, seq: String(1_000_000 + n), teamId: t.team.id, ticketId: encodeId('Ticket', t.team.id), customerId: null, messageId: null, isInternal: false, type: 'UPDATED', changedFields: [] });
    }
    const closed = await client.closed;
    expect({ code: closed.code, reason: closed.reason }).toEqual({ code: 1008, reason: 'Slow consumer: too many events waiting' });
    expect(ws.received.length).toBeLessThan(1500);
  });
});
