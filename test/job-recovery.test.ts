// A process that runs jobs dies in the middle of one: another process runs the job
// again within seconds (not graphile-worker's four hours), the receiver can tell the
// duplicate by its webhook-id, and both attempts have their delivery record.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, inject, test } from 'vitest';
import { createDb } from '../src/db.js';
import { createMailer } from '../src/jobs/mail.js';
import { enqueueWebhook } from '../src/jobs/side-effects.js';
import { UNRECORDED } from '../src/jobs/webhooks.js';
import { releaseLostCompletions } from '../src/jobs/lost-completions.js';
import { addJob } from '../src/jobs/queue.js';
import { EventEmitter } from 'node:events';
import pg from 'pg';
import type { WorkerEvents } from 'graphile-worker';
import { startWorker } from '../src/jobs/worker.js';
import { createLogger } from '../src/logger.js';
import { migrate } from '../src/platform/migrate.js';
import { temporaryDirectory } from './support/files.js';
import { leftover } from './support/leftovers.js';
import { cleanEnv, run } from './support/process.js';
import { eventually } from './support/wait.js';

/** A database of this file's own on the suite's server: no other file's jobs run here. */
async function ownDatabase(): Promise<string> {
  const suite = new URL(inject('databaseUrl'));
  const name = `jobs_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const admin = createDb(suite.toString(), 1);
  await admin.$executeRawUnsafe(`CREATE DATABASE ${name}`);
  await admin.$disconnect();
  suite.pathname = `/${name}`;
  await migrate(suite.toString());
  return suite.toString();
}

/** Holds the first request open (the process sending it dies meanwhile), answers 200 to the rest. */
async function startStallingReceiver(onHeld: () => void = () => {}) {
  const hits: Array<{ webhookId: string; body: string }> = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hits.push({ webhookId: String(req.headers['webhook-id']), body });
      if (hits.length === 1) {
        held.push(res);
        onHeld();
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  leftover('the stalling receiver', async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    hits,
    /** Answers the held request: 200. */
    release: () => {
      for (const res of held.splice(0)) res.writeHead(200).end('ok');
    },
  };
}

/** A team with an endpoint at `url` and one webhook job queued for it. */
async function queuedDelivery(db: ReturnType<typeof createDb>, url: string) {
  const team = await db.team.create({ data: { name: 'Jobs', slug: `jobs-${randomUUID().slice(0, 8)}` } });
  const endpoint = await db.webhookEndpoint.create({ data: { teamId: team.id, url, events: ['ticket.created'], secret: 'whsec_test' } });
  const body = JSON.stringify({ id: 'evt_x', type: 'ticket.created', data: {} });
  await enqueueWebhook(db, { endpointId: endpoint.id, eventId: randomUUID(), eventType: 'ticket.created', body, attempt: 1 });
  return { endpoint, body };
}

describe('jobs of a process that died', () => {
  test('a webhook job locked by a killed worker is unlocked and delivered again within seconds, with a record of the lost attempt', async () => {
    const url = await ownDatabase();
    const db = createDb(url, 2);
    leftover('the job database pool', () => db.$disconnect());
    // A worker process takes the job and is killed while the receiver holds the request
    // (at once: on a busy machine the sender's 10 s timeout must not end the attempt first).
    let first: ReturnType<typeof run> | undefined;
    const receiver = await startStallingReceiver(() => first?.child.kill('SIGKILL'));
    const { endpoint, body } = await queuedDelivery(db, receiver.url);
    first = run('src/worker-main.ts', [], cleanEnv({ DATABASE_URL: url, WORKERS: '1', JOB_HEARTBEAT_MS: '200' }));
    leftover('the first worker process', () => void first?.child.kill('SIGKILL'));
    await eventually(() => receiver.hits.length === 1, { timeoutMs: 60_000 });
    await first.exited;
    const locked = await db.$queryRaw<Array<{ locked_by: string | null }>>`SELECT locked_by FROM graphile_worker._private_jobs`;
    expect(locked).toHaveLength(1);
    expect(locked[0]!.locked_by).toMatch(/^pool-/);
    // The dead worker's beat, if it had time for one: it beats when its pool starts, while its job goes out.
    const deadBeats = (await db.jobWorkerHeartbeat.findMany()).map((b) => b.workerId);

    // A surviving process's worker unlocks the dead worker's job and delivers it.
    const log = createLogger('silent');
    const worker = await startWorker({
      databaseUrl: url,
      db,
      log,
      mailer: createMailer({ from: 'x <x@x.test>', dataDir: temporaryDirectory('ticketql-jobs-') }),
      concurrency: 1,
      policy: { production: false },
      retrySchedule: [1],
      pollIntervalMs: 100,
      heartbeatMs: 200,
      only: ['webhook:deliver'],
    });
    let stopped = false;
    leftover('the surviving worker', () => (stopped ? undefined : worker.stop()));
    await eventually(() => receiver.hits.length === 2, { timeoutMs: 30_000 });
    expect(receiver.hits[1]!.webhookId).toBe(receiver.hits[0]!.webhookId);
    expect(receiver.hits[1]!.body).toBe(body);

    const deliveries = await eventually(async () => {
      const rows = await db.webhookDelivery.findMany({ where: { endpointId: endpoint.id }, orderBy: { createdAt: 'asc' } });
      return rows.length === 2 && rows;
    });
    expect(deliveries.map((d) => [d.attempt, d.succeeded, d.responseStatus, d.error])).toEqual([
      [1, false, null, UNRECORDED],
      [1, true, 200, null],
    ]);
    await eventually(async () => (await db.$queryRaw<unknown[]>`SELECT 1 FROM graphile_worker._private_jobs`).length === 0);
    // A worker that stops removes its beats; a dead one's stay until they are a day old.
    expect(await db.jobWorkerHeartbeat.count()).toBe(deadBeats.length + 1);
    await worker.stop();
    stopped = true;
    expect((await db.jobWorkerHeartbeat.findMany()).map((b) => b.workerId)).toEqual(deadBeats);
  });

  test('a job worker beats as soon as its pool starts, not one interval later: a process killed at once leaves its workers known', async () => {
    const url = await ownDatabase();
    const db = createDb(url, 2);
    leftover('the job database pool', () => db.$disconnect());
    const worker = await startWorker({
      databaseUrl: url,
      db,
      log: createLogger('silent'),
      mailer: createMailer({ from: 'x <x@x.test>', dataDir: temporaryDirectory('ticketql-jobs-') }),
      concurrency: 1,
      policy: { production: false },
      retrySchedule: [1],
      // Ten minutes: only a beat at the pool's creation can be seen within this test.
      heartbeatMs: 600_000,
      only: ['webhook:deliver'],
    });
    let stopped = false;
    leftover('the worker', () => (stopped ? undefined : worker.stop()));
    const beats = await eventually(async () => {
      const rows = await db.jobWorkerHeartbeat.findMany();
      return rows.length > 0 && rows;
    });
    expect(beats.map((b) => b.workerId)).toEqual([expect.stringMatching(/^pool-/)]);
    await worker.stop();
    stopped = true;
  });

  test('SIGTERM while a job runs: the job finishes and is recorded, the process exits 0, and no job stays locked', async () => {
    const url = await ownDatabase();
    const db = createDb(url, 2);
    leftover('the job database pool', () => db.$disconnect());
    let worker: ReturnType<typeof run> | undefined;
    const receiver = await startStallingReceiver(() => worker?.child.kill('SIGTERM'));
    const { endpoint } = await queuedDelivery(db, receiver.url);
    worker = run('src/worker-main.ts', [], cleanEnv({ DATABASE_URL: url, WORKERS: '1', JOB_HEARTBEAT_MS: '200' }));
    leftover('the worker process', () => void worker?.child.kill('SIGKILL'));
    await eventually(() => receiver.hits.length === 1, { timeoutMs: 60_000 });
    // The stop waits for the running delivery; its receiver answers only now.
    await worker.waitFor(/stopping/);
    receiver.release();
    expect(await worker.exited).toBe(0);
    const deliveries = await db.webhookDelivery.findMany({ where: { endpointId: endpoint.id } });
    expect(deliveries.map((d) => [d.attempt, d.succeeded, d.responseStatus])).toEqual([[1, true, 200]]);
    expect(await db.$queryRaw<unknown[]>`SELECT 1 FROM graphile_worker._private_jobs`).toEqual([]);
    expect(await db.jobWorkerHeartbeat.count()).toBe(0);
  });

  test('a mail job whose completion was lost (the database restarted) is released with its ticket’s queue, so the ticket’s later mails are not held', async () => {
    const url = await ownDatabase();
    const db = createDb(url, 2);
    leftover('the job database pool', () => db.$disconnect());
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    leftover('the sweeper pool', () => pool.end());
    const mail = { to: 'kim@example.com', subject: 'Re: [#1] x', text: 'x', html: '<p>x</p>', messageId: '<m@ticketql>' };
    await addJob(db, 'email:send', mail, { queueName: 'mail:ticket-1' });
    await addJob(db, 'email:send', { ...mail, messageId: '<n@ticketql>' }, { queueName: 'mail:ticket-1' });
    // As a worker of pool-lost leaves them when the write of its finished job is dropped:
    // the job and its queue still locked by it, the job no longer running.
    await db.$executeRaw`UPDATE graphile_worker._private_jobs SET locked_by = 'pool-lost', locked_at = now() - interval '1 minute' WHERE id = (SELECT min(id) FROM graphile_worker._private_jobs)`;
    await db.$executeRaw`UPDATE graphile_worker._private_job_queues SET locked_by = 'pool-lost', locked_at = now() - interval '1 minute'`;
    const events: WorkerEvents = new EventEmitter();
    const stop = releaseLostCompletions(events, pool, createLogger('silent'));
    leftover('the sweeper', stop);
    events.emit('pool:create', { workerPool: { id: 'pool-lost' } } as never);
    const state = () => db.$queryRaw<Array<{ job: string | null; queue: string | null }>>`
      SELECT j.locked_by AS job, q.locked_by AS queue FROM graphile_worker._private_jobs j
      JOIN graphile_worker._private_job_queues q ON q.id = j.job_queue_id ORDER BY j.id`;
    await eventually(async () => (await state())[0]!.job === null, { timeoutMs: 30_000 });
    expect(await state()).toEqual([
      { job: null, queue: null },
      { job: null, queue: null },
    ]);
    stop();
  });
});
