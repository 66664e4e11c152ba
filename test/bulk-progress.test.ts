// A bulk update by filter, followed live (the bulkJob subscription over graphql-ws and
// SSE, from this process and another one on the same Redis) and cancelled.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject } from 'vitest';
import { bulkTasks } from '../src/domain/bulk.js';
import { createEventBus, type EventBus } from '../src/live/bus.js';
import { connectRedis } from '../src/live/redis.js';
import { createLogger } from '../src/logger.js';
import { graphql } from './generated/index.js';
import { execute, startOtherApp, testApp } from './support/app.js';
import { test, type TeamFixture } from './support/fixtures.js';
import { startTestWorker } from './support/jobs.js';
import { leftover } from './support/leftovers.js';
import { disposeLive, subscribe, subscribeSse, wsClient, type Received } from './support/live.js';
import { GetTicket, newTicket } from './support/operations.js';
import { eventually } from './support/wait.js';

const Bulk = graphql(`
  mutation BulkProgressStart($input: BulkUpdateTicketsInput!) {
    bulkUpdateTickets(input: $input) { job { id total status } }
  }
`);

const Cancel = graphql(`
  mutation BulkProgressCancel($input: CancelBulkJobInput!) {
    cancelBulkJob(input: $input) { bulkJob { id status finished done skipped cancelledAt } }
  }
`);

const Job = graphql(`
  query BulkProgressJob($id: ID!) { bulkJob(id: $id) { status finished done failed skipped } }
`);

const FOLLOW = 'subscription($id: ID!) { bulkJob(id: $id) { total done failed skipped status finished } }';

let base: string;
/** Another server on the same database and Redis, as a second process would be. */
let other: string;

beforeAll(async () => {
  const { app, db, bus } = testApp();
  base = await app.start(0);
  const log = createLogger('silent');
  const workerRedis = connectRedis(inject('redisUrl'), log);
  const otherRedis = connectRedis(inject('redisUrl'), log);
  leftover('redis clients', async () => {
    await workerRedis.close();
    await otherRedis.close();
  });
  // The worker's notices reach this file's app (its bus is in process) and, through Redis, the other server.
  const redisBus = createEventBus({ redis: workerRedis });
  const both: EventBus = {
    ...redisBus,
    publish(event) {
      bus.publish(event);
      redisBus.publish(event);
    },
  };
  other = (await startOtherApp({ bus: createEventBus({ redis: otherRedis }), redis: otherRedis.publish })).base;
  await startTestWorker({ db, only: ['tickets:bulk-update'], tasks: bulkTasks({ db, bus: both }) });
});

afterAll(() => disposeLive());

/**
 * Holds a row lock on a ticket until released: the job's update of that ticket waits
 * for it, so a test knows where the job is. `blocking()` waits until some statement does wait.
 */
async function holdTicket(uuid: string) {
  const client = new pg.Client({ connectionString: inject('databaseUrl') });
  await client.connect();
  leftover('a locking connection', () => client.end());
  await client.query('BEGIN');
  await client.query('SELECT id FROM tickets WHERE id = $1 FOR UPDATE', [uuid]);
  const [{ pid }] = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
  return {
    async blocking() {
      const { db } = testApp();
      await eventually(
        async () => (await db.$queryRaw<Array<{ n: number }>>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${pid}::int = ANY (pg_blocking_pids(pid))`)[0]!.n > 0,
        { what: () => 'the job to wait for the locked ticket' },
      );
    },
    release: () => client.query('COMMIT'),
  };
}

/** Three tickets with a tag of their own, in the order the job takes them (by number), and the job over them. */
async function threeTicketJob(team: TeamFixture, tag: string) {
  const tickets = [];
  for (const n of [1, 2, 3]) tickets.push(await newTicket(team.keys.write, { title: `Batch ${tag} ${n}`, tags: [tag] }));
  const start = async () =>
    (await execute(Bulk, { as: team.tokens.agent, variables: { input: { filter: { tags: [tag] }, patch: { priority: 'URGENT' } } } })).ok()
      .bulkUpdateTickets.job!;
  return { tickets, start };
}

const progress = (results: Received[]) => results.map((r) => r.data?.bulkJob);

describe('the bulkJob subscription', () => {
  test('sends the job at once, then each ticket as it is counted, then the end, and completes', async ({ team }) => {
    const { tickets, start } = await threeTicketJob(team, 'follow');
    const second = await testApp().db.ticket.findFirstOrThrow({ where: { teamId: team.team.id, title: 'Batch follow 2' }, select: { id: true } });
    const lock = await holdTicket(second.id);
    const job = await start();
    expect(job).toMatchObject({ total: 3, status: 'RUNNING' });

    const ws = subscribe(wsClient(base, team.tokens.agent), FOLLOW, { id: job.id });
    const sse = subscribeSse(base, team.keys.read, FOLLOW, { id: job.id });
    // The job updated the first ticket and waits on the second: both subscribers are told of the first.
    await lock.blocking();
    for (const live of [ws, sse]) await eventually(() => live.received.some((r) => r.data?.bulkJob.done === 1), { what: () => JSON.stringify(live.received) });
    await lock.release();
    await ws.completed;
    await sse.completed;
    for (const live of [ws, sse]) {
      const seen = progress(live.received);
      expect(seen.at(-1)).toEqual({ total: 3, done: 3, failed: 0, skipped: 0, status: 'FINISHED', finished: true });
      // Progress only grows.
      const done = seen.map((s) => s.done);
      expect(done).toEqual([...done].sort((a, b) => a - b));
      expect(seen.slice(0, -1).every((s) => s.status === 'RUNNING' && !s.finished)).toBe(true);
      // Each result is the state the job was in when it was read: none is sent twice.
      expect(seen.every((s, i) => i === 0 || JSON.stringify(s) !== JSON.stringify(seen[i - 1]))).toBe(true);
    }
    for (const t of tickets) expect((await execute(GetTicket, { as: team.keys.read, variables: { id: t.id } })).ok().ticket!.priority).toBe('URGENT');
  });

  test('a subscriber on another process, on the same Redis, follows a job the worker runs elsewhere', async ({ team }) => {
    const { start } = await threeTicketJob(team, 'elsewhere');
    const first = await testApp().db.ticket.findFirstOrThrow({ where: { teamId: team.team.id, title: 'Batch elsewhere 1' }, select: { id: true } });
    const lock = await holdTicket(first.id);
    const job = await start();
    const live = subscribe(wsClient(other, team.tokens.admin), FOLLOW, { id: job.id });
    await live.waitFor(1);
    expect(progress(live.received)[0]).toMatchObject({ done: 0, status: 'RUNNING' });
    await lock.blocking();
    await lock.release();
    await live.completed;
    expect(progress(live.received).at(-1)).toEqual({ total: 3, done: 3, failed: 0, skipped: 0, status: 'FINISHED', finished: true });
  });

  test("who may follow a job: the team's staff; another team NOT_FOUND, a customer FORBIDDEN, anonymous UNAUTHENTICATED", async ({ team, otherTeam }) => {
    const { start } = await threeTicketJob(team, 'roles');
    const job = await start();
    const codes = async (credential: string | undefined) => {
      const live = subscribe(wsClient(base, credential), FOLLOW, { id: job.id });
      await live.waitFor(1);
      return live.received[0]!.errors?.map((e) => e.extensions?.code) ?? 'data';
    };
    expect(await codes(team.tokens.admin)).toBe('data');
    expect(await codes(team.keys.read)).toBe('data');
    expect(await codes(team.tokens.agent)).toBe('data');
    expect(await codes(otherTeam.tokens.agent)).toEqual(['NOT_FOUND']);
    expect(await codes(otherTeam.keys.admin)).toEqual(['NOT_FOUND']);
    expect(await codes(team.tokens.customer)).toEqual(['FORBIDDEN']);
    // Anonymous: graphql-ws closes the socket without a credential, as for every subscription.
    expect((await wsClient(base).closed).code).toBe(4403);
    // The same as the query answers each of them.
    (await execute(Job, { as: otherTeam.tokens.agent, variables: { id: job.id } })).fails('NOT_FOUND');
    (await execute(Job, { as: team.tokens.customer, variables: { id: job.id } })).fails('FORBIDDEN');
    (await execute(Job, { variables: { id: job.id } })).fails('UNAUTHENTICATED');
    const malformed = subscribe(wsClient(base, team.tokens.agent), FOLLOW, { id: 'nonsense' });
    await malformed.waitFor(1);
    expect(malformed.received[0]!.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('cancelBulkJob', () => {
  test('stops the job before its next ticket: tickets updated stay updated, the rest are skipped; subscribers see it end', async ({ team }) => {
    const { tickets, start } = await threeTicketJob(team, 'cancel');
    const first = await testApp().db.ticket.findFirstOrThrow({ where: { teamId: team.team.id, title: 'Batch cancel 1' }, select: { id: true } });
    const lock = await holdTicket(first.id);
    const job = await start();
    const live = subscribe(wsClient(base, team.tokens.agent), FOLLOW, { id: job.id });
    await live.waitFor(1);
    // The job is on the first ticket (waiting for its lock) when the cancel comes.
    await lock.blocking();
    const cancelled = (await execute(Cancel, { as: team.tokens.agent, variables: { input: { id: job.id } } })).ok().cancelBulkJob.bulkJob;
    expect(cancelled).toMatchObject({ id: job.id, status: 'CANCELLED', finished: false, done: 0, skipped: 0 });
    expect(cancelled.cancelledAt).toEqual(expect.any(String));
    await lock.release();
    await live.completed;
    expect(progress(live.received).at(-1)).toEqual({ total: 3, done: 1, failed: 0, skipped: 2, status: 'CANCELLED', finished: true });
    const priorities = [];
    for (const t of tickets) priorities.push((await execute(GetTicket, { as: team.keys.read, variables: { id: t.id } })).ok().ticket!.priority);
    expect(priorities).toEqual(['URGENT', 'NORMAL', 'NORMAL']);

    // Again: the job as it is. A finished job: CONFLICT.
    const again = (await execute(Cancel, { as: team.keys.write, variables: { input: { id: job.id } } })).ok().cancelBulkJob.bulkJob;
    expect(again).toMatchObject({ status: 'CANCELLED', finished: true, done: 1, skipped: 2, cancelledAt: cancelled.cancelledAt });
    const done = await threeTicketJob(team, 'finished');
    const finished = await done.start();
    await eventually(async () => (await execute(Job, { as: team.keys.read, variables: { id: finished.id } })).ok().bulkJob.finished);
    expect((await execute(Cancel, { as: team.keys.write, variables: { input: { id: finished.id } } })).fails('CONFLICT').message).toBe(
      'The bulk update has finished: there is nothing left to cancel',
    );
    expect((await execute(Job, { as: team.keys.read, variables: { id: finished.id } })).ok().bulkJob).toMatchObject({ status: 'FINISHED', skipped: 0 });
  });

  test('who may cancel: staff with WRITE; read-only keys and customers FORBIDDEN, another team NOT_FOUND, anonymous UNAUTHENTICATED', async ({ team, otherTeam }) => {
    await newTicket(team.keys.write, { title: 'Batch who 1', tags: ['who'] });
    // The job waits on its ticket: it is still running when each caller tries.
    const lock = await holdTicket((await testApp().db.ticket.findFirstOrThrow({ where: { teamId: team.team.id, title: 'Batch who 1' } })).id);
    const job = (await execute(Bulk, { as: team.keys.write, variables: { input: { filter: { tags: ['who'] }, patch: { status: 'OPEN' } } } })).ok()
      .bulkUpdateTickets.job!;
    const input = { id: job.id };
    (await execute(Cancel, { as: team.keys.read, variables: { input } })).fails('FORBIDDEN');
    (await execute(Cancel, { as: team.tokens.customer, variables: { input } })).fails('FORBIDDEN');
    (await execute(Cancel, { as: otherTeam.keys.admin, variables: { input } })).fails('NOT_FOUND');
    (await execute(Cancel, { variables: { input } })).fails('UNAUTHENTICATED');
    (await execute(Cancel, { as: team.keys.write, variables: { input: { id: 'nonsense' } } })).fails('BAD_USER_INPUT');
    expect((await execute(Job, { as: team.keys.read, variables: { id: job.id } })).ok().bulkJob.status).toBe('RUNNING');
    expect((await execute(Cancel, { as: team.tokens.admin, variables: { input } })).ok().cancelBulkJob.bulkJob.status).toBe('CANCELLED');
    await lock.release();
  });
});
