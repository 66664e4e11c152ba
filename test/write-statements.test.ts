// createTicket and addMessage are the writes every console and integration makes, so
// they run as hand-written statements (domain/tickets.ts): one that locks and reads
// (or inserts the ticket), and the change's last one with the rest of the writes, the
// events and the jobs. What they return must be what Prisma reads back of the rows
// they wrote, field for field, and a refused write must leave nothing behind.
import { describe, expect } from 'vitest';
import type { Viewer } from '../src/auth/viewer.js';
import { query } from '../src/db.js';
import { change } from '../src/domain/change.js';
import { createTicket, addMessage } from '../src/domain/tickets.js';
import { Prisma } from '../src/generated/prisma/client.js';
import { createEventBus } from '../src/live/bus.js';
import { graphql } from './generated/index.js';
import { execute } from './support/app.js';
import { test } from './support/fixtures.js';

const bus = createEventBus({});

const staff = (teamId: string, agentId: string): Viewer => ({ role: 'AGENT', teamId, agentId, name: 'Alex Agent', scopes: new Set(['READ', 'WRITE']) });
const customerViewer = (teamId: string, customerId: string): Viewer => ({ role: 'CUSTOMER', teamId, customerId, scopes: new Set(['READ', 'WRITE']) });

describe('the hand-written write statements return what Prisma reads back', () => {
  test('createTicket, for each way of naming the customer and each status', async ({ team, agent, customer, app: { db } }) => {
    const viewer = staff(team.team.id, agent.uuid);
    const cases = [
      { title: 'by email, new', body: 'Hello', customer: { email: 'new-person@example.com', name: 'New Person' }, tags: ['a', 'b'], metadata: { order: '88412' } },
      { title: 'by email, known', customer: { email: customer.email } },
      { title: 'by id, assigned, pending', customerId: customer.uuid, assigneeId: agent.uuid, status: 'PENDING' as const, priority: 'URGENT' as const, notes: 'n' },
      { title: 'closed, no customer', status: 'CLOSED' as const, category: 'bug' },
    ];
    for (const args of cases) {
      const ticket = await createTicket({ db, bus }, viewer, team.team.id, args);
      expect(ticket).toEqual(await db.ticket.findUniqueOrThrow({ where: { id: ticket.id } }));
    }
    const asCustomer = await createTicket({ db, bus }, customerViewer(team.team.id, customer.uuid), team.team.id, { title: 'mine', body: 'Help' });
    expect(asCustomer).toEqual(await db.ticket.findUniqueOrThrow({ where: { id: asCustomer.id } }));
    expect(asCustomer).toMatchObject({ customerId: customer.uuid, status: 'NEW', notes: null, metadata: {} });
    // The deadlines are the team's NORMAL target (480 and 2880 minutes) from creation.
    expect(asCustomer.responseDeadline!.getTime() - asCustomer.createdAt.getTime()).toBe(480 * 60_000);
    expect(asCustomer.resolutionDeadline!.getTime() - asCustomer.createdAt.getTime()).toBe(2880 * 60_000);
    const [first] = await db.message.findMany({ where: { ticketId: asCustomer.id } });
    expect(first).toMatchObject({ body: 'Help', sender: 'CUSTOMER', authorCustomerId: customer.uuid, senderName: 'Jane Doe', isInternal: false });
  });

  test('addMessage, by an agent, as a note, and by the customer', async ({ team, agent, customer, app: { db } }) => {
    const ticket = await createTicket({ db, bus }, staff(team.team.id, agent.uuid), team.team.id, { title: 't', customerId: customer.uuid });
    const replies = [
      { viewer: staff(team.team.id, agent.uuid), args: { body: 'First answer' } },
      { viewer: staff(team.team.id, agent.uuid), args: { body: 'A note', isInternal: true } },
      { viewer: staff(team.team.id, agent.uuid), args: { body: 'Typed for her', sender: 'CUSTOMER' as const, senderName: 'Jane on the phone' } },
      { viewer: customerViewer(team.team.id, customer.uuid), args: { body: 'Thanks' } },
    ];
    for (const { viewer, args } of replies) {
      const { message, ticket: after } = await addMessage({ db, bus }, viewer, ticket.id, args);
      expect(message).toEqual(await db.message.findUniqueOrThrow({ where: { id: message.id } }));
      expect(after).toEqual(await db.ticket.findUniqueOrThrow({ where: { id: ticket.id } }));
    }
    const after = await db.ticket.findUniqueOrThrow({ where: { id: ticket.id } });
    expect(after).toMatchObject({ messageCount: 4, publicMessageCount: 3 });
    expect(after.firstResponseAt).not.toBeNull();
    const messages = await db.message.findMany({ where: { ticketId: ticket.id }, orderBy: { createdAt: 'asc' } });
    expect(messages.map((m) => [m.sender, m.senderName, m.senderAvatarUrl])).toEqual([
      ['AGENT', 'Alex Agent', 'https://img.test/alex.png'],
      ['AGENT', 'Alex Agent', 'https://img.test/alex.png'],
      ['CUSTOMER', 'Jane on the phone', null],
      ['CUSTOMER', 'Jane Doe', null],
    ]);
  });

  test('a createTicket refused for a customer or agent of another team writes nothing, not even a ticket number', async ({ team, agent, app: { db } }) => {
    const other = await db.team.create({ data: { name: 'Other', slug: `other-${team.team.id.slice(0, 8)}` } });
    const stranger = await db.customer.create({ data: { teamId: other.id, email: 'stranger@example.com' } });
    const outsider = await db.agent.create({ data: { teamId: other.id, name: 'Out', email: 'out@example.com' } });
    const before = await db.team.findUniqueOrThrow({ where: { id: team.team.id } });
    const viewer = staff(team.team.id, agent.uuid);
    await expect(createTicket({ db, bus }, viewer, team.team.id, { title: 'x', customerId: stranger.id })).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    await expect(createTicket({ db, bus }, viewer, team.team.id, { title: 'x', assigneeId: outsider.id })).rejects.toMatchObject({ extensions: { code: 'NOT_FOUND' } });
    const after = await db.team.findUniqueOrThrow({ where: { id: team.team.id } });
    expect([after.ticketSeq, after.eventSeq]).toEqual([before.ticketSeq, before.eventSeq]);
    expect(await db.ticket.count({ where: { teamId: team.team.id } })).toBe(0);
  });
});

describe('round trips', () => {
  const AddMessage = graphql(`
    mutation WriteStatementsReply($input: AddMessageInput!) {
      addMessage(input: $input) { message { id body sender } ticket { id messageCount status } }
    }
  `);
  const CreateTicket = graphql(`
    mutation WriteStatementsCreate($input: CreateTicketInput!) {
      createTicket(input: $input) { ticket { id number title status } }
    }
  `);

  // Prisma's query log leaves out the BEGIN that opens a transaction: each write below is
  // BEGIN plus these statements, with its emails, webhooks and events.
  const operationSql = (sql: string[]) => sql.filter((q) => !q.includes('api_keys') && !q.includes('"agents"'));

  test('addMessage and createTicket take three logged statements each, with a webhook endpoint and a customer to mail', async ({ team, customer, app: { db, sql } }) => {
    await db.webhookEndpoint.create({
      data: { teamId: team.team.id, url: 'http://127.0.0.1:9/hook', secret: 'whsec_test', events: ['ticket.created', 'ticket.message_added'] },
    });
    const created = (await execute(CreateTicket, { as: team.keys.write, variables: { input: { title: 'warm', customerId: customer.id } } })).ok();
    sql.length = 0;
    const reply = (await execute(AddMessage, { as: team.tokens.agent, variables: { input: { ticketId: created.createTicket.ticket!.id, body: 'On it' } } })).ok();
    expect(reply.addMessage).toMatchObject({ message: { body: 'On it', sender: 'AGENT' }, ticket: { messageCount: 1, status: 'NEW' } });
    expect(operationSql(sql).map((q) => q.trim().split(/\s+/)[0])).toEqual(['SELECT', 'WITH', 'COMMIT']);

    sql.length = 0;
    const next = (await execute(CreateTicket, { as: team.keys.write, variables: { input: { title: 'second', body: 'Hi', customerId: customer.id } } })).ok();
    expect(next.createTicket.ticket).toMatchObject({ number: 2, title: 'second', status: 'NEW' });
    expect(operationSql(sql).map((q) => q.trim().split(/\s+/)[0])).toEqual(['WITH', 'WITH', 'COMMIT']);

  });

  test('a payload that selects a relation reads it back, with the viewer’s visibility', async ({ team, customer, app: { sql } }) => {
    const Query = graphql(`
      mutation WriteStatementsWithRelations($input: CreateTicketInput!) {
        createTicket(input: $input) { ticket { id customer { name } messages(first: 5) { totalCount } } }
      }
    `);
    sql.length = 0;
    const data = (await execute(Query, { as: team.keys.write, variables: { input: { title: 'with relations', body: 'b', customerId: customer.id } } })).ok();
    expect(data.createTicket.ticket).toMatchObject({ customer: { name: 'Jane Doe' }, messages: { totalCount: 1 } });
    expect(operationSql(sql).length).toBeGreaterThan(3);
  });

  test('a change sends its own statements on its transaction’s connection: they see its writes and roll back with it', async ({ team, app: { db, sql } }) => {
    const name = async () => (await db.team.findUniqueOrThrow({ where: { id: team.team.id } })).name;
    const before = await name();
    const pid = Prisma.sql`SELECT pg_backend_pid() AS pid`;
    sql.length = 0;
    const undone = change({ db, bus }, async ({ tx }) => {
      const [own] = await query<{ pid: number }>(tx, pid);
      const [prisma] = await tx.$queryRaw<Array<{ pid: number }>>(pid);
      expect(own!.pid).toBe(prisma!.pid);
      await tx.team.update({ where: { id: team.team.id }, data: { name: 'renamed by Prisma' } });
      const [seen] = await query<{ name: string }>(tx, Prisma.sql`UPDATE teams SET name = name || ' and by hand' WHERE id = ${team.team.id}::uuid RETURNING name`);
      expect(seen!.name).toBe('renamed by Prisma and by hand');
      throw new Error('undo');
    });
    await expect(undone).rejects.toThrow('undo');
    expect(await name()).toBe(before);
    // Counted as Prisma's statements are.
    expect(sql.filter((q) => q.startsWith('SELECT pg_backend_pid()') || q.startsWith('UPDATE teams SET name = name'))).toHaveLength(3);

    // Outside a change, query() is the transaction's $queryRaw.
    const pids = await db.$transaction(async (tx) => [(await query<{ pid: number }>(tx, pid))[0]!.pid, (await tx.$queryRaw<Array<{ pid: number }>>(pid))[0]!.pid]);
    expect(pids[0]).toBe(pids[1]);
  });
});
