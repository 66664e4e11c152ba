import { randomUUID } from 'node:crypto';
import { describe, expect } from 'vitest';
import { decodeId, encodeId } from '../src/ids.js';
import { graphql } from './generated/index.js';
import { test } from './support/fixtures.js';
import { AddMessage, CreateTicket, GetTicket, UpdateTicket, newTicket } from './support/operations.js';

const MINUTE = 60_000;
const uuid = (id: string) => decodeId(id)!.uuid;

const DeleteTicket = graphql(`
  mutation DeleteTicket($input: DeleteTicketInput!) { deleteTicket(input: $input) { deletedTicketId } }
`);

const History = graphql(`
  query History($id: ID!) {
    ticket(id: $id) {
      events(first: 50) {
        edges { node { type changedFields changes actor { kind actorId name } ticketId message { id } } }
      }
    }
  }
`);

describe('createTicket', () => {
  test('with a body and a new customer: first message from the customer, defaults, number, SLA deadlines, event', async ({ team, app, execute }) => {
    const res = await execute(CreateTicket, {
      as: team.keys.write,
      variables: {
        input: {
          title: '  Cannot connect WhatsApp channel ',
          body: 'Verification webhook returns 403 every time.',
          customer: { email: 'New.Person@Example.COM', name: 'New Person' },
          category: 'Bug',
          tags: [' Login ', 'login', 'DASHBOARD'],
        },
      },
    });
    const ticket = res.ok().createTicket.ticket!;
    expect(res.data!.createTicket.ticketId).toBe(ticket.id);
    expect(ticket).toMatchObject({
      number: 1,
      title: 'Cannot connect WhatsApp channel',
      status: 'NEW',
      priority: 'NORMAL',
      category: 'bug',
      tags: ['login', 'dashboard'],
      notes: null,
      metadata: {},
      customer: { name: 'New Person', email: 'new.person@example.com' },
      assignee: null,
      messageCount: 1,
      firstResponseAt: null,
      closedAt: null,
      responseTier: 'ON_TRACK',
      resolutionTier: 'ON_TRACK',
      slaPaused: false,
      slaBreached: false,
    });
    expect(ticket.id).toMatch(/^tkt_[0-9A-Za-z]{22}$/);
    const created = Date.parse(ticket.createdAt);
    expect(Date.parse(ticket.responseDeadline!) - created).toBe(480 * MINUTE);
    expect(Date.parse(ticket.resolutionDeadline!) - created).toBe(2880 * MINUTE);

    const full = (await execute(GetTicket, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!;
    expect(full.messages.edges.map((e) => e.node)).toEqual([
      expect.objectContaining({ sender: 'CUSTOMER', body: 'Verification webhook returns 403 every time.', isInternal: false, senderName: 'New Person' }),
    ]);

    const again = await newTicket(team.keys.write, { title: 'Second', customer: { email: 'new.person@example.com' } });
    expect(again.number).toBe(2);
    expect(again.customer?.id).toBe(ticket.customer?.id);
    expect(again.messageCount).toBe(0);

    // A priority the team has no SLA target for: no deadlines, and numbering goes on.
    await app.db.slaTarget.deleteMany({ where: { teamId: team.team.id, priority: 'LOW' } });
    const untargeted = await newTicket(team.keys.write, { title: 'Third', priority: 'LOW' });
    expect(untargeted).toMatchObject({ number: 3, responseDeadline: null, resolutionDeadline: null });

    const events = (await execute(History, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!.events!.edges;
    expect(events.map((e) => e.node)).toEqual([
      expect.objectContaining({ type: 'CREATED', changedFields: [], ticketId: ticket.id, actor: expect.objectContaining({ kind: 'API_KEY' }) }),
    ]);
  });

  test('staff set status, priority, notes, metadata, assignee and an existing customer', async ({ team, agent, customer }) => {
    const ticket = await newTicket(team.keys.write, {
      title: 'Urgent outage',
      priority: 'URGENT',
      status: 'OPEN',
      notes: 'VIP',
      metadata: { plan: 'pro' },
      customerId: customer.id,
      assigneeId: agent.uuid, // raw UUID accepted
    });
    expect(ticket).toMatchObject({
      status: 'OPEN',
      priority: 'URGENT',
      notes: 'VIP',
      metadata: { plan: 'pro' },
      customer: { email: customer.email },
      assignee: { id: agent.id, name: 'Alex Agent' },
    });
    expect(Date.parse(ticket.responseDeadline!) - Date.parse(ticket.createdAt)).toBe(30 * MINUTE);
  });

  test('a ticket created RESOLVED is closed at once', async ({ team }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Done already', status: 'RESOLVED' });
    expect(ticket.closedAt).toBe(ticket.createdAt);
  });

  test('unknown customer or agent of another team: NOT_FOUND, nothing written', async ({ team, otherTeam, app: { db }, execute }) => {
    const res = await execute(CreateTicket, {
      as: team.keys.write,
      variables: { input: { title: 'x', customerId: encodeId('Customer', otherTeam.customer.id) } },
    });
    expect(res.fails('NOT_FOUND').message).toBe('Customer not found');
    const res2 = await execute(CreateTicket, {
      as: team.keys.write,
      variables: { input: { title: 'x', assigneeId: encodeId('Agent', otherTeam.agent.id) } },
    });
    expect(res2.fails('NOT_FOUND').message).toBe('Agent not found');
    expect(await db.ticket.count({ where: { teamId: team.team.id } })).toBe(0);
    expect((await db.team.findUniqueOrThrow({ where: { id: team.team.id } })).ticketSeq).toBe(0);
  });
});

describe('limits: BAD_USER_INPUT with fields, and nothing written', () => {
  const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
    ['empty title', { title: '   ' }, 'input.title', /must not be empty/],
    ['title over 200', { title: 'x'.repeat(201) }, 'input.title', /at most 200/],
    ['body over 50,000', { title: 'ok', body: 'b'.repeat(50_001) }, 'input.body', /at most 50000/],
    ['empty body', { title: 'ok', body: '' }, 'input.body', /must not be empty/],
    ['21 tags', { title: 'ok', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'input.tags', /at most 20 tags/],
    ['tag over 50', { title: 'ok', tags: ['x'.repeat(51)] }, 'input.tags.0', /at most 50/],
    ['51 metadata keys', { title: 'ok', metadata: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, 'v'])) }, 'input.metadata', /at most 50 keys/],
    ['metadata key over 40', { title: 'ok', metadata: { ['k'.repeat(41)]: 'v' } }, `input.metadata.${'k'.repeat(41)}`, /keys must be at most 40/],
    ['metadata value over 500', { title: 'ok', metadata: { k: 'v'.repeat(501) } }, 'input.metadata.k', /at most 500/],
    ['metadata value not a string', { title: 'ok', metadata: { k: 5 } }, 'input.metadata.k', /string/],
    ['category not a slug', { title: 'ok', category: 'Billing issues!' }, 'input.category', /lowercase slug/],
    ['customer email invalid', { title: 'ok', customer: { email: 'not-an-email' } }, 'input.customer.email', /email/],
  ];
  test.for(cases)('%s', async ([, input, path, message], { team, app: { db }, execute }) => {
    const res = await execute(CreateTicket, { as: team.keys.write, variables: { input: input as never } });
    const error = res.fails('BAD_USER_INPUT');
    expect(error.extensions!.fields).toEqual([{ path, message: expect.stringMatching(message) }]);
    expect(await db.ticket.count({ where: { teamId: team.team.id } })).toBe(0);
    expect(await db.customer.count({ where: { teamId: team.team.id } })).toBe(1);
  });

  test('an update over the limits writes nothing', async ({ team, execute }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Keep me', metadata: { a: '1' } });
    const res = await execute(UpdateTicket, {
      as: team.keys.write,
      variables: { input: { id: ticket.id, title: 'New title', metadata: { b: 'x'.repeat(501) } } },
    });
    expect(res.fails('BAD_USER_INPUT').extensions!.fields).toEqual([{ path: 'input.metadata.b', message: expect.any(String) }]);
    const after = (await execute(GetTicket, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!;
    expect(after).toMatchObject({ title: 'Keep me', metadata: { a: '1' }, updatedAt: ticket.updatedAt });
  });

  test('merged metadata over 50 keys is refused', async ({ team, execute }) => {
    const ticket = await newTicket(team.keys.write, {
      title: 'Full',
      metadata: Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v'])),
    });
    const res = await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, metadata: { extra: 'v' } } } });
    expect(res.fails('BAD_USER_INPUT').extensions!.fields).toEqual([{ path: 'input.metadata', message: 'at most 50 keys' }]);
  });
});

describe('ticket(id)', () => {
  test('takes the prefixed ID or the raw UUID', async ({ team, execute }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Find me' });
    for (const id of [ticket.id, uuid(ticket.id), uuid(ticket.id).toUpperCase()]) {
      expect((await execute(GetTicket, { as: team.keys.read, variables: { id } })).ok().ticket!.title).toBe('Find me');
    }
  });

  test('malformed → BAD_USER_INPUT; unknown or another team’s → NOT_FOUND', async ({ team, otherTeam, customer, execute }) => {
    const theirs = await newTicket(otherTeam.keys.write, { title: 'Not yours' });
    (await execute(GetTicket, { as: team.keys.read, variables: { id: 'tkt_123' } })).fails('BAD_USER_INPUT');
    (await execute(GetTicket, { as: team.keys.read, variables: { id: customer.id } })).fails('BAD_USER_INPUT');
    const missing = await execute(GetTicket, { as: team.keys.read, variables: { id: encodeId('Ticket', randomUUID()) } });
    const foreign = await execute(GetTicket, { as: team.keys.read, variables: { id: theirs.id } });
    expect(missing.fails('NOT_FOUND').message).toBe('Ticket not found');
    expect(foreign.fails('NOT_FOUND').message).toBe('Ticket not found');
    expect(foreign.data).toEqual(missing.data);
  });
});

describe('updateTicket', () => {
  test('changes only the given fields; metadata merges and null removes; tags replace, normalised', async ({ team, execute }) => {
    const ticket = await newTicket(team.keys.write, {
      title: 'Original',
      category: 'billing',
      tags: ['a'],
      notes: 'n',
      metadata: { keep: '1', drop: '2' },
    });
    const updated = (
      await execute(UpdateTicket, {
        as: team.keys.write,
        variables: { input: { id: ticket.id, metadata: { drop: null, added: '3' }, tags: ['B ', 'b', 'C'] } },
      })
    ).ok().updateTicket.ticket;
    expect(updated).toMatchObject({
      title: 'Original',
      category: 'billing',
      notes: 'n',
      tags: ['b', 'c'],
      metadata: { keep: '1', added: '3' },
      status: 'NEW',
    });
    expect(Date.parse(updated.updatedAt)).toBeGreaterThan(Date.parse(ticket.updatedAt));

    const cleared = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, category: null, notes: null } } })).ok();
    expect(cleared.updateTicket.ticket).toMatchObject({ category: null, notes: null, tags: ['b', 'c'] });
  });

  test('RESOLVED and CLOSED set closedAt; back to an open status clears it', async ({ team, execute }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Close me' });
    const resolved = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, status: 'RESOLVED' } } })).ok()
      .updateTicket.ticket;
    expect(resolved.closedAt).not.toBeNull();
    expect(resolved.closedAt).toBe(resolved.updatedAt);
    const closed = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, status: 'CLOSED' } } })).ok()
      .updateTicket.ticket;
    expect(closed.closedAt).toBe(resolved.closedAt); // still closed since then
    const reopened = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, status: 'OPEN' } } })).ok()
      .updateTicket.ticket;
    expect(reopened.closedAt).toBeNull();
  });

  test('a priority change recomputes the deadlines from creation', async ({ team, execute }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Escalate' });
    const high = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, priority: 'HIGH' } } })).ok()
      .updateTicket.ticket;
    const created = Date.parse(ticket.createdAt);
    expect(Date.parse(high.responseDeadline!) - created).toBe(120 * MINUTE);
    expect(Date.parse(high.resolutionDeadline!) - created).toBe(1440 * MINUTE);
  });

  test('time in PENDING pauses the SLA clock and moves the deadlines by the paused time', async ({ team, app: { db }, execute }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Waiting' });
    const pending = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, status: 'PENDING' } } })).ok()
      .updateTicket.ticket;
    expect(pending.slaPaused).toBe(true);
    expect(pending.responseDeadline).toBe(ticket.responseDeadline);
    // Pretend the ticket has waited for the customer for two hours.
    await db.ticket.update({ where: { id: uuid(ticket.id) }, data: { slaPausedAt: new Date(Date.parse(pending.updatedAt) - 120 * MINUTE) } });
    const open = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, status: 'OPEN' } } })).ok()
      .updateTicket.ticket;
    expect(open.slaPaused).toBe(false);
    const moved = Date.parse(open.responseDeadline!) - Date.parse(ticket.responseDeadline!);
    expect(moved).toBeGreaterThanOrEqual(120 * MINUTE);
    expect(moved).toBeLessThan(121 * MINUTE);
    expect(Date.parse(open.resolutionDeadline!) - Date.parse(ticket.resolutionDeadline!)).toBe(moved);
  });

  test('assigning and unassigning; events record the changes with old and new values', async ({ team, admin, agent, execute }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Assign me' });
    const assigned = (await execute(UpdateTicket, { as: admin.token, variables: { input: { id: ticket.id, assigneeId: agent.id } } })).ok();
    expect(assigned.updateTicket.ticket.assignee).toEqual({ id: agent.id, name: 'Alex Agent' });
    const unassigned = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, assigneeId: null, status: 'CLOSED' } } })).ok();
    expect(unassigned.updateTicket.ticket.assignee).toBeNull();

    const events = (await execute(History, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!.events!.edges.map((e) => e.node);
    expect(events.map((e) => [e.type, e.changedFields])).toEqual([
      ['CREATED', []],
      ['UPDATED', ['assigneeId']],
      ['ASSIGNED', ['assigneeId']],
      ['UPDATED', ['status', 'assigneeId']],
      ['CLOSED', ['status']],
    ]);
    expect(events[1]!.changes).toEqual({ assigneeId: { old: null, new: agent.id } });
    expect(events[1]!.actor).toEqual({ kind: 'AGENT', actorId: admin.id, name: 'Ada Admin' });
    expect(events[3]!.changes).toEqual({ status: { old: 'NEW', new: 'CLOSED' }, assigneeId: { old: agent.id, new: null } });
  });

  test('an update that changes nothing writes no event', async ({ team, agent, customer, execute }) => {
    // Every field set, so that the comparison below covers them all.
    const created = await newTicket(team.keys.write, {
      title: 'Same',
      body: 'Hello',
      priority: 'HIGH',
      category: 'billing',
      tags: ['vip'],
      notes: 'Call back',
      metadata: { plan: 'pro' },
      customerId: customer.id,
      assigneeId: agent.id,
    });
    await execute(AddMessage, { as: agent.token, variables: { input: { ticketId: created.id, body: 'On it' } } });
    const ticket = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: created.id, status: 'RESOLVED' } } })).ok().updateTicket.ticket;
    const events0 = (await execute(History, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!.events!.edges.length;
    const res = (await execute(UpdateTicket, { as: team.keys.write, variables: { input: { id: ticket.id, title: 'Same' } } })).ok();
    expect(res.updateTicket.ticket.updatedAt).toBe(ticket.updatedAt);
    // The answer is the ticket as it stands: every field reads as from ticket(id:).
    const { messages: _messages, ...read } = (await execute(GetTicket, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!;
    expect(res.updateTicket.ticket).toEqual(read);
    expect(read).toMatchObject({ category: 'billing', tags: ['vip'], notes: 'Call back', metadata: { plan: 'pro' }, messageCount: 2, slaBreached: false });
    expect(read.closedAt && read.firstResponseAt && read.responseDeadline && read.resolutionDeadline && read.customer && read.assignee).toBeTruthy();
    const events = (await execute(History, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!.events!.edges;
    expect(events).toHaveLength(events0);
  });
});

describe('addMessage', () => {
  test('staff reply defaults to AGENT; the first public agent reply sets firstResponseAt; internal notes do not', async ({ team, agent, execute }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Help', body: 'Please help' });
    const note = (await execute(AddMessage, { as: agent.token, variables: { input: { ticketId: ticket.id, body: 'FYI: Pro plan', isInternal: true } } })).ok()
      .addMessage;
    expect(note.message).toMatchObject({ sender: 'AGENT', isInternal: true, senderName: 'Alex Agent', senderAvatarUrl: 'https://img.test/alex.png' });
    expect(note.message.author).toEqual({ __typename: 'Agent', id: agent.id });
    expect(note.ticket.firstResponseAt).toBeNull();
    expect(note.ticket.messageCount).toBe(2);

    const reply = (await execute(AddMessage, { as: agent.token, variables: { input: { ticketId: ticket.id, body: 'On it' } } })).ok().addMessage;
    expect(reply.ticket.firstResponseAt).toBe(reply.message.createdAt);
    expect(reply.ticket.updatedAt).toBe(reply.message.createdAt);
    expect(reply.ticket.responseTier).toBe('MET');
    expect(reply.ticket.messageCount).toBe(3);

    const second = (await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'More' } } })).ok().addMessage;
    expect(second.ticket.firstResponseAt).toBe(reply.ticket.firstResponseAt);
    expect(second.message.author).toBeNull();

    const thread = (await execute(GetTicket, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!.messages;
    expect(thread.totalCount).toBe(4);
    expect(thread.edges.map((e) => e.node.body)).toEqual(['Please help', 'FYI: Pro plan', 'On it', 'More']);
  });

  test('a customer reply reopens a PENDING or RESOLVED ticket', async ({ team, customer, execute }) => {
    for (const status of ['PENDING', 'RESOLVED'] as const) {
      const ticket = await newTicket(team.keys.write, { title: `Was ${status}`, status, customerId: customer.id });
      const res = (await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'Still broken', sender: 'CUSTOMER' } } })).ok()
        .addMessage;
      expect(res.message).toMatchObject({ sender: 'CUSTOMER', senderName: 'Jane Doe', author: { __typename: 'Customer' } });
      expect(res.ticket).toMatchObject({ status: 'OPEN', closedAt: null, slaPaused: false });
    }
  });

  test('a public message on a CLOSED ticket is a CONFLICT; an internal note is fine', async ({ team, app: { db }, execute }) => {
    const ticket = await newTicket(team.keys.write, { title: 'Closed', status: 'CLOSED' });
    const res = await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'Hello?' } } });
    expect(res.fails('CONFLICT').message).toBe('The ticket is closed: it takes no more public replies');
    const customer = await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'Hi', sender: 'CUSTOMER' } } });
    customer.fails('CONFLICT');
    (await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'note', isInternal: true } } })).ok();
    expect(await db.message.count({ where: { ticketId: uuid(ticket.id) } })).toBe(1);
  });

  test('writes a MESSAGE_ADDED event that points at the message', async ({ team, ticket, execute }) => {
    const message = (await execute(AddMessage, { as: team.keys.write, variables: { input: { ticketId: ticket.id, body: 'x' } } })).ok().addMessage.message;
    const events = (await execute(History, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket!.events!.edges.map((e) => e.node);
    expect(events.at(-1)).toMatchObject({ type: 'MESSAGE_ADDED', message: { id: message.id } });
  });
});

describe('deleteTicket', () => {
  test('removes the ticket and its messages; a second delete is NOT_FOUND', async ({ team, ticket, app: { db }, execute }) => {
    const res = (await execute(DeleteTicket, { as: team.keys.admin, variables: { input: { id: ticket.id } } })).ok();
    expect(res.deleteTicket.deletedTicketId).toBe(ticket.id);
    expect(await db.message.count({ where: { ticketId: uuid(ticket.id) } })).toBe(0);
    (await execute(GetTicket, { as: team.keys.read, variables: { id: ticket.id } })).fails('NOT_FOUND');
    (await execute(DeleteTicket, { as: team.keys.admin, variables: { input: { id: ticket.id } } })).fails('NOT_FOUND');
    const deleted = await db.ticketEvent.findMany({ where: { ticketId: uuid(ticket.id) }, orderBy: { seq: 'asc' } });
    expect(deleted.map((e) => e.type)).toEqual(['CREATED', 'DELETED']);
  });
});
