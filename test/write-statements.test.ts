// createTicket and addMessage are the writes every console and integration makes, so
// they run as hand-written statements (domain/tickets.ts): one that locks and reads
// (or inserts the ticket), and the change's last one with the rest of the writes, the
// events and the jobs. What they return must be what Prisma reads back of the rows
// they wrote, field for field, and a refused write must leave nothing behind.
import pg from 'pg';
import { describe, expect, inject } from 'vitest';
import type { Viewer } from '../src/auth/viewer.js';
import { query } from '../src/db.js';
import { change } from '../src/domain/change.js';
import { createTicket, addMessage, REPLY_UNCHANGED_COLUMNS, REPLY_WRITTEN_COLUMNS } from '../src/domain/tickets.js';
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

describe('a reply takes the ticket’s lock in its last statement', () => {
  /** Whether a reply's last statement waits for a row lock (pg_stat_activity shows a statement's first 1 kB). */
  const waitsInLastStatement = async (watcher: pg.Client) =>
    (await watcher.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%g0 AS (UPDATE tickets t SET%'`)).rows[0]!.n > 0;

  test('every column of a ticket is one a reply writes or one it checks is unchanged', async ({ app: { db } }) => {
    const columns = await db.$queryRaw<Array<{ name: string }>>`
      SELECT column_name::text AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'tickets'`;
    // The ID is the row's; the search vector follows the title.
    const covered = new Set<string>(['id', 'title_tsv', ...REPLY_WRITTEN_COLUMNS, ...REPLY_UNCHANGED_COLUMNS]);
    expect(columns.map((c) => c.name).filter((name) => !covered.has(name))).toEqual([]);
    expect(REPLY_WRITTEN_COLUMNS.filter((name) => (REPLY_UNCHANGED_COLUMNS as readonly string[]).includes(name))).toEqual([]);
  });

  test('replies sent at once to one ticket all commit: each answers its own count, and the ticket’s times are its latest message’s', async ({ team, agent, customer, app: { db } }) => {
    const viewer = staff(team.team.id, agent.uuid);
    const ticket = await createTicket({ db, bus }, viewer, team.team.id, { title: 'busy', customerId: customer.uuid });
    const notes = new Set([3, 7, 11, 15]);
    const replies = await Promise.all(
      Array.from({ length: 20 }, (_, i) => addMessage({ db, bus }, viewer, ticket.id, { body: `reply ${i}`, isInternal: notes.has(i) })),
    );
    // Each answer is the ticket right after its own message: one count each, 1 to 20.
    expect(replies.map((r) => r.ticket.messageCount).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(replies.filter((r) => !r.message.isInternal).map((r) => r.ticket.publicMessageCount).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
    const after = await db.ticket.findUniqueOrThrow({ where: { id: ticket.id } });
    expect(after).toMatchObject({ messageCount: 20, publicMessageCount: 16 });
    const messages = await db.message.findMany({ where: { ticketId: ticket.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
    const events = await db.ticketEvent.findMany({ where: { ticketId: ticket.id, type: 'MESSAGE_ADDED' }, orderBy: { seq: 'asc' } });
    expect(new Set(events.map((e) => e.messageId))).toEqual(new Set(messages.map((m) => m.id)));
    expect(events).toHaveLength(20);
    const time = (d: Date) => d.getTime();
    expect(time(after.updatedAt)).toBe(Math.max(...messages.map((m) => time(m.createdAt))));
    expect(time(after.publicUpdatedAt)).toBe(Math.max(...messages.filter((m) => !m.isInternal).map((m) => time(m.createdAt))));
    // The first public reply to commit set it; the others read it again (it is checked).
    expect(time(after.firstResponseAt!)).toBe(Math.min(...messages.filter((m) => !m.isInternal).map((m) => time(m.createdAt))));
    // What the reply that committed last answered of its ticket is the row.
    const last = replies.find((r) => r.ticket.messageCount === 20)!;
    expect(last.ticket).toEqual(after);
  });

  test('a reply whose ticket is closed after it read it, before its last statement, is refused and writes nothing', async ({ team, agent, customer, app: { db } }) => {
    const viewer = staff(team.team.id, agent.uuid);
    const ticket = await createTicket({ db, bus }, viewer, team.team.id, { title: 'closing', customerId: customer.uuid });
    const eventsBefore = await db.ticketEvent.count({ where: { ticketId: ticket.id } });
    const closer = new pg.Client({ connectionString: inject('databaseUrl') });
    const watcher = new pg.Client({ connectionString: inject('databaseUrl') });
    await Promise.all([closer.connect(), watcher.connect()]);
    try {
      // Another change holds the ticket, closing it: the reply's read (no lock) sees it open.
      await closer.query('BEGIN');
      await closer.query(`UPDATE tickets SET status = 'CLOSED', closed_at = now() WHERE id = $1`, [ticket.id]);
      const reply = addMessage({ db, bus }, viewer, ticket.id, { body: 'Too late' }).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      let settled = false;
      void reply.then(() => (settled = true));
      // Its last statement now waits for the ticket's row.
      while (!settled && !(await waitsInLastStatement(watcher)));
      expect(settled).toBe(false);
      await closer.query('COMMIT');
      // It ran again, locking the ticket first, and saw it closed.
      expect(await reply).toEqual({ error: expect.objectContaining({ extensions: expect.objectContaining({ code: 'CONFLICT' }) }) });
    } finally {
      await Promise.all([closer.end(), watcher.end()]);
    }
    expect(await db.message.count({ where: { ticketId: ticket.id } })).toBe(0);
    expect(await db.ticket.findUniqueOrThrow({ where: { id: ticket.id } })).toMatchObject({ status: 'CLOSED', messageCount: 0, publicMessageCount: 0 });
    expect(await db.ticketEvent.count({ where: { ticketId: ticket.id } })).toBe(eventsBefore);
  });

  test('an internal note whose ticket an agent renames meanwhile is written, on the ticket as renamed', async ({ team, agent, customer, app: { db } }) => {
    const viewer = staff(team.team.id, agent.uuid);
    const ticket = await createTicket({ db, bus }, viewer, team.team.id, { title: 'old title', customerId: customer.uuid });
    const renamer = new pg.Client({ connectionString: inject('databaseUrl') });
    const watcher = new pg.Client({ connectionString: inject('databaseUrl') });
    await Promise.all([renamer.connect(), watcher.connect()]);
    try {
      await renamer.query('BEGIN');
      await renamer.query(`UPDATE tickets SET title = 'new title' WHERE id = $1`, [ticket.id]);
      let settled = false;
      const note = addMessage({ db, bus }, viewer, ticket.id, { body: 'noted', isInternal: true }).finally(() => (settled = true));
      while (!settled && !(await waitsInLastStatement(watcher)));
      await renamer.query('COMMIT');
      const { ticket: after } = await note;
      // Run again on the renamed ticket: its answer and its webhooks' snapshot carry the new title.
      expect(after).toMatchObject({ title: 'new title', messageCount: 1, publicMessageCount: 0 });
      expect(after).toEqual(await db.ticket.findUniqueOrThrow({ where: { id: ticket.id } }));
    } finally {
      await Promise.all([renamer.end(), watcher.end()]);
    }
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
