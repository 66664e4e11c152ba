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
async function startStallingReceiver() {
  const hits: Array<{ webhookId: string; body: string }> = [];
  const held: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      hits.push({ webhookId: String(req.headers['webhook-id']), body });
      if (hits.length === 1) held.push(res);
      else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  leftover('the stalling receiver', async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, hits };
}

describe('jobs of a process that died', () => {
  test('a webhook job locked by a killed worker is unlocked and delivered again within seconds, with a record of the lost attempt', async () => {
    const url = await ownDatabase();
    const db = createDb(url, 2);
    leftover('the job database pool', () => db.$disconnect());
    const receiver = await startStallingReceiver();
    const team = await db.team.create({ data: { name: 'Jobs', slug: 'jobs' } });
    const endpoint = await db.webhookEndpoint.create({ data: { teamId: team.id, url: receiver.url, events: ['ticket.created'], secret: 'whsec_test' } });
    const eventId = randomUUID();
    const body = JSON.stringify({ id: 'evt_x', type: 'ticket.created', data: {} });
    await enqueueWebhook(db, { endpointId: endpoint.id, eventId, eventType: 'ticket.created', body, attempt: 1 });

    // A worker process takes the job and is killed while the receiver holds the request.
    const first = run('src/worker-main.ts', [], cleanEnv({ DATABASE_URL: url, WORKERS: '1', JOB_HEARTBEAT_MS: '200' }));
    leftover('the first worker process', () => void first.child.kill('SIGKILL'));
    await eventually(() => receiver.hits.length === 1, { timeoutMs: 60_000 });
    first.child.kill('SIGKILL');
    await first.exited;
    const locked = await db.$queryRaw<Array<{ locked_by: string | null }>>`SELECT locked_by FROM graphile_worker._private_jobs`;
    expect(locked).toHaveLength(1);
    expect(locked[0]!.locked_by).toMatch(/^pool-/);

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
    await worker.stop();
    stopped = true;
    expect(await db.jobWorkerHeartbeat.count()).toBe(1);
  });
});
