// Writes go through src/domain, each in one change(): what the removal of an agent tells
// live subscribers, the history and webhooks, and what a change announces only once committed.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, test, vi } from 'vitest';
import { signToken } from '../src/auth/tokens.js';
import { createDb, query } from '../src/db.js';
import { change, type ChangeScope } from '../src/domain/change.js';
import { Prisma } from '../src/generated/prisma/client.js';
import { encodeId } from '../src/ids.js';
import { createMailer } from '../src/jobs/mail.js';
import type { JobWorker } from '../src/jobs/worker.js';
import { startTestWorker } from './support/jobs.js';
import { graphql } from './generated/index.js';
import { execute, JWT_SECRET, testApp } from './support/app.js';
import { createTeam } from './support/fixtures.js';
import { disposeLive, listening, subscribe, wsClient } from './support/live.js';
import { UpdateTicket, newTicket } from './support/operations.js';
import { eventually, startReceiver, startSmtp } from './support/receivers.js';

const NewAgent = graphql(`
  mutation DomainNewAgent($input: CreateAgentInput!) { createAgent(input: $input) { agent { id } } }
`);
const RemoveAgent = graphql(`
  mutation DomainRemoveAgent($input: DeleteAgentInput!) { deleteAgent(input: $input) { deletedAgentId } }
`);
const NewEndpoint = graphql(`
  mutation DomainNewEndpoint($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret } }
`);
const History = graphql(`
  query DomainHistory($id: ID!) {
    ticket(id: $id) {
      assignee { id }
      events(first: 10) { edges { node { type changedFields changes actor { kind name } } } }
    }
  }
`);

const STAFF_EVENTS = `subscription($after: String) {
  ticketEvents(after: $after) { cursor type ticketId changedFields changes actor { kind name } }
}`;
const CUSTOMER_EVENTS = `subscription($after: String) { ticketEvents(after: $after) { type ticketId changedFields } }`;

let base: string;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let worker: JobWorker;

beforeAll(async () => {
  const { app, db } = testApp();
  base = await app.start(0);
  smtp = await startSmtp();
  worker = await startTestWorker({
    db,
    mailer: createMailer({ smtpUrl: smtp.url, from: 'Support <support@ticketql.test>', dataDir: '/nonexistent' }),
    // Webhooks only: this file asserts no mail, and on the suite's shared database its
    // worker would otherwise take other files' emails to its own SMTP server.
    only: ['webhook:deliver'],
  });
});

afterAll(async () => {
  disposeLive();
  await worker?.stop();
  await smtp?.close();
  await testApp().app.stop();
});

describe('deleting an agent', () => {
  test('unassigns each of their tickets with an UPDATED event: live subscribers, the history and webhooks see it as any unassignment', async () => {
    const t = await createTeam();
    const { db } = testApp();
    let secret = '';
    const receiver = await startReceiver({ secret: () => secret });
    try {
      secret = (
        await execute(NewEndpoint, { as: t.keys.admin, variables: { input: { url: receiver.url, events: ['ticket.updated', 'ticket.assigned'] } } })
      ).ok().createWebhookEndpoint.signingSecret;
      const samEmail = `sam@${t.team.slug}.test`;
      const sam = (await execute(NewAgent, { as: t.keys.admin, variables: { input: { name: 'Sam Gone', email: samEmail } } })).ok().createAgent.agent;
      const customerId = encodeId('Customer', t.customer.id);
      const alexId = encodeId('Agent', t.agent.id);
      const first = await newTicket(t.keys.write, { title: 'First of Sam', assigneeId: sam.id, customerId });
      const second = await newTicket(t.keys.write, { title: 'Second of Sam', assigneeId: sam.id });
      const alexs = await newTicket(t.keys.write, { title: 'Alex’s', assigneeId: alexId, customerId });

      // Subscribed from the log's current position: nothing after it can be missed.
      const after = String((await db.team.findUniqueOrThrow({ where: { id: t.team.id } })).eventSeq);
      const staff = subscribe(wsClient(base, t.tokens.agent), STAFF_EVENTS, { after });
      const customer = subscribe(wsClient(base, t.tokens.customer), CUSTOMER_EVENTS, { after });
      const samToken = await signToken(JWT_SECRET, { sub: sam.id, team: t.teamId, role: 'agent', email: samEmail }, '1h');
      const samsOwn = subscribe(wsClient(base, samToken), CUSTOMER_EVENTS, { after });
      // Sam's subscription must be open before Sam is removed, for it to be ended by the removal.
      await listening(t.team.id, 3);

      const removed = (await execute(RemoveAgent, { as: t.tokens.admin, variables: { input: { id: sam.id } } })).ok();
      expect(removed.deleteAgent.deletedAgentId).toBe(sam.id);
      // The same change made by hand, for comparison.
      (await execute(UpdateTicket, { as: t.tokens.admin, variables: { input: { id: alexs.id, assigneeId: null } } })).ok();

      const unassigned = (ticketId: string, old: string) => ({
        cursor: expect.any(String),
        type: 'UPDATED',
        ticketId,
        changedFields: ['assigneeId'],
        changes: { assigneeId: { old, new: null } },
        actor: { kind: 'AGENT', name: 'Ada Admin' },
      });
      const live = (await staff.waitFor(3)).map((r) => r.data?.ticketEvents);
      expect(live).toEqual([unassigned(first.id, sam.id), unassigned(second.id, sam.id), unassigned(alexs.id, alexId)]);
      expect(live.map((e) => Number(e.cursor))).toEqual([1, 2, 3].map((n) => Number(after) + n));
      // The customer hears of their own tickets only.
      expect((await customer.waitFor(2)).map((r) => r.data?.ticketEvents)).toEqual([
        { type: 'UPDATED', ticketId: first.id, changedFields: ['assigneeId'] },
        { type: 'UPDATED', ticketId: alexs.id, changedFields: ['assigneeId'] },
      ]);
      // The removed agent's own subscription ends.
      await samsOwn.completed;

      for (const ticket of [first, second]) {
        const read = (await execute(History, { as: t.keys.read, variables: { id: ticket.id } })).ok().ticket!;
        expect(read.assignee).toBeNull();
        expect(read.events!.edges.map((e) => e.node)).toEqual([
          { type: 'CREATED', changedFields: [], changes: {}, actor: { kind: 'API_KEY', name: 'READ+WRITE' } },
          { type: 'UPDATED', changedFields: ['assigneeId'], changes: { assigneeId: { old: sam.id, new: null } }, actor: { kind: 'AGENT', name: 'Ada Admin' } },
        ]);
      }

      // One ticket.updated webhook per ticket, like the unassignment by hand; an
      // unassignment records no ASSIGNED event, so no ticket.assigned is sent.
      await eventually(() => receiver.hits.length === 3);
      const hooks = receiver.hits
        .map((h) => ({ valid: h.signatureValid, ...(JSON.parse(h.body) as { type: string; data: { ticket: { id: string; number: number; assigneeId: string | null }; changes: unknown } }) }))
        .sort((a, b) => a.data.ticket.number - b.data.ticket.number)
        .map((h) => [h.valid, h.type, h.data.ticket.id, h.data.ticket.assigneeId, h.data.changes]);
      expect(hooks).toEqual([
        [true, 'ticket.updated', first.id, null, { assigneeId: { old: sam.id, new: null } }],
        [true, 'ticket.updated', second.id, null, { assigneeId: { old: sam.id, new: null } }],
        [true, 'ticket.updated', alexs.id, null, { assigneeId: { old: alexId, new: null } }],
      ]);
      expect(await db.agent.count({ where: { teamId: t.team.id, email: samEmail } })).toBe(0);
    } finally {
      await receiver.close();
    }
  });

  test('an agent of another team is NOT_FOUND and nothing changes', async () => {
    const t = await createTeam();
    const other = await createTeam();
    const ticket = await newTicket(t.keys.write, { title: 'Stays assigned', assigneeId: encodeId('Agent', t.agent.id) });
    (await execute(RemoveAgent, { as: other.keys.admin, variables: { input: { id: encodeId('Agent', t.agent.id) } } })).fails('NOT_FOUND');
    const read = (await execute(History, { as: t.keys.read, variables: { id: ticket.id } })).ok().ticket!;
    expect(read.assignee).toEqual({ id: encodeId('Agent', t.agent.id) });
    expect(read.events!.edges.map((e) => e.node.type)).toEqual(['CREATED']);
  });
});

describe('change()', () => {
  test('announces after the commit, in order; a change that rolls back announces nothing', async () => {
    const t = await createTeam();
    const { db, app } = testApp();
    const deps = { db, bus: app.bus };
    const heard = app.bus.subscribe(t.team.id);
    try {
      await expect(
        change(deps, async ({ tx, announce }) => {
          announce({ kind: 'credential-revoked', teamId: t.team.id, apiKeyId: 'rolled-back' });
          await tx.customer.update({ where: { id: t.customer.id }, data: { name: 'Never' } });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      await change(deps, async ({ announce }) => {
        announce({ kind: 'credential-revoked', teamId: t.team.id, apiKeyId: 'first' });
        announce({ kind: 'credential-revoked', teamId: t.team.id, apiKeyId: 'second' });
      });
      const got = [(await heard.next()).value, (await heard.next()).value];
      expect(got).toEqual([
        { kind: 'credential-revoked', teamId: t.team.id, apiKeyId: 'first' },
        { kind: 'credential-revoked', teamId: t.team.id, apiKeyId: 'second' },
      ]);
      expect((await db.customer.findUniqueOrThrow({ where: { id: t.customer.id } })).name).toBe('Jane Doe');
    } finally {
      await heard.return();
    }
  });

  /**
   * Seven changes (more than the pool's five connections: one kept busy would show) that
   * announce, write the customer's name, and then fail in their last statement or its
   * COMMIT as `failure`; then a change that commits, which is heard and written.
   */
  async function failingChangesThenOne(
    lastWrite: (scope: ChangeScope, t: Awaited<ReturnType<typeof createTeam>>) => Promise<void>,
    failedAs: (error: unknown) => void,
  ) {
    const t = await createTeam();
    const { db, app } = testApp();
    const deps = { db, bus: app.bus };
    const heard = app.bus.subscribe(t.team.id);
    try {
      for (let i = 0; i < 7; i++) {
        const outcome = await change(deps, async (scope) => {
          scope.announce({ kind: 'credential-revoked', teamId: t.team.id, apiKeyId: 'rolled-back' });
          await scope.tx.customer.update({ where: { id: t.customer.id }, data: { name: 'Written before' } });
          await lastWrite(scope, t);
        }).then(
          () => ({ committed: true }),
          (error: unknown) => ({ error }),
        );
        expect(outcome).toHaveProperty('error');
        failedAs((outcome as { error: unknown }).error);
        expect((await db.customer.findUniqueOrThrow({ where: { id: t.customer.id } })).name).toBe('Jane Doe');
      }
      await change(deps, async ({ write, announce }) => {
        announce({ kind: 'credential-revoked', teamId: t.team.id, apiKeyId: 'committed' });
        write(Prisma.sql`UPDATE customers SET name = 'Committed' WHERE id = ${t.customer.id}::uuid`);
      });
      expect((await heard.next()).value).toEqual({ kind: 'credential-revoked', teamId: t.team.id, apiKeyId: 'committed' });
      expect((await db.customer.findUniqueOrThrow({ where: { id: t.customer.id } })).name).toBe('Committed');
      return { t, db };
    } finally {
      await heard.return();
    }
  }

  test('a change whose last statement fails commits none of it, announces nothing, and gives its connection back', async () => {
    // The COMMIT goes out with the last statement: the server skips it, and the change rolls back.
    const { t, db } = await failingChangesThenOne(
      async ({ write }, t) => write(Prisma.sql`UPDATE teams SET name = 'Never' WHERE id = ${t.team.id}::uuid AND 1 / (SELECT count(*) - count(*) FROM teams) = 1`),
      (error) => expect(error).toMatchObject({ code: '22012' }),
    );
    expect((await db.team.findUniqueOrThrow({ where: { id: t.team.id } })).name).toBe(t.team.name);
  });

  test('a change whose COMMIT fails (a deferred constraint) commits none of it, announces nothing, and gives its connection back', async () => {
    // The last statement runs; the COMMIT written behind it is what fails.
    await failingChangesThenOne(
      async ({ tx, write }) => {
        await tx.$executeRaw`CREATE TEMP TABLE once (id int UNIQUE DEFERRABLE INITIALLY DEFERRED) ON COMMIT DROP`;
        await query(tx, Prisma.sql`INSERT INTO once VALUES (1)`);
        write(Prisma.sql`INSERT INTO once VALUES (1)`);
      },
      (error) => expect(String(error)).toMatch(/once_id_key|unique/i),
    );
  });

  test('a change whose last statement has a value pg cannot send commits none of it and gives its connection back', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await failingChangesThenOne(
      async ({ write }, t) => write(Prisma.sql`UPDATE customers SET name = ${circular}::text WHERE id = ${t.customer.id}::uuid`),
      (error) => expect(String(error)).toMatch(/circular/i),
    );
  });

  test("with pg's query_timeout in DATABASE_URL, a change commits and its last statement's read timer does not throw once due", async () => {
    const t = await createTeam();
    const url = new URL(inject('databaseUrl'));
    url.searchParams.set('query_timeout', '1000');
    const db = createDb(url.toString(), 2);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      await change({ db, bus: testApp().app.bus }, async ({ write }) => {
        write(Prisma.sql`UPDATE customers SET name = 'Timed' WHERE id = ${t.customer.id}::uuid`);
      });
      // Past the timeout: a read timer left running would fire here (and throw from it).
      expect(() => vi.advanceTimersByTime(2_000)).not.toThrow();
    } finally {
      vi.useRealTimers();
    }
    expect((await db.customer.findUniqueOrThrow({ where: { id: t.customer.id } })).name).toBe('Timed');
    await db.$disconnect();
  });

  /**
   * A change on its own client whose statement waits for the customer's row, locked by
   * another connection, while Prisma's transaction timer (5 s) is made to fire; then the
   * lock is released. `waitsFor` is the text of the statement that waits.
   */
  async function outlastPrismasTimeout<T>(work: (scope: ChangeScope, t: Awaited<ReturnType<typeof createTeam>>) => Promise<T>, waitsFor: string) {
    const t = await createTeam();
    const seen: string[] = [];
    const db = createDb(inject('databaseUrl'), 2, (sql) => seen.push(sql));
    const locker = new pg.Client({ connectionString: inject('databaseUrl') });
    // pg_stat_activity is read outside the locking transaction, which would keep its first snapshot.
    const watcher = new pg.Client({ connectionString: inject('databaseUrl') });
    await Promise.all([locker.connect(), watcher.connect()]);
    try {
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM customers WHERE id = $1 FOR UPDATE', [t.customer.id]);
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const outcome = change({ db, bus: testApp().app.bus }, (scope) => work(scope, t)).then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      let settled = false;
      void outcome.then(() => (settled = true));
      const waiting = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%' || $1 || '%'`;
      while (!settled && (await watcher.query<{ n: number }>(waiting, [waitsFor])).rows[0]!.n === 0);
      // Past Prisma's timeout, short of pg-pool's idle timeout (10 s).
      vi.advanceTimersByTime(6_000);
      vi.useRealTimers();
      await locker.query('COMMIT');
      const result = await outcome;
      const name = (await db.customer.findUniqueOrThrow({ where: { id: t.customer.id } })).name;
      return { result, name, seen };
    } finally {
      vi.useRealTimers();
      await Promise.all([locker.end(), watcher.end()]);
      await db.$disconnect();
    }
  }

  test('a change that commits after Prisma gave up on its transaction (its 5 s timeout) answers what it committed', async () => {
    const { result, name, seen } = await outlastPrismasTimeout(async ({ write }, t) => {
      write(Prisma.sql`UPDATE customers SET name = 'Committed' WHERE id = ${t.customer.id}::uuid`);
      return 'the answer';
    }, "SET name = 'Committed'");
    // Prisma's timer fired: it asked for a ROLLBACK, but the COMMIT was already on its way.
    expect(seen).toContain('ROLLBACK');
    expect(result).toEqual({ value: 'the answer' });
    expect(name).toBe('Committed');
  });

  test('a change whose transaction Prisma rolled back (its 5 s timeout) while a statement waited writes nothing more and fails', async () => {
    const { result, name, seen } = await outlastPrismasTimeout(async ({ tx, write }, t) => {
      await query(tx, Prisma.sql`UPDATE customers SET name = 'First' WHERE id = ${t.customer.id}::uuid`);
      // After Prisma's ROLLBACK this would have run outside the transaction.
      write(Prisma.sql`UPDATE customers SET name = 'Outside' WHERE id = ${t.customer.id}::uuid`);
      return 'never';
    }, "SET name = 'First'");
    expect(seen).toContain('ROLLBACK');
    expect(result).toEqual({ error: expect.objectContaining({ message: expect.stringContaining('P2028') }) });
    expect(name).toBe('Jane Doe');
  });
});
