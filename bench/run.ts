// npm run bench [-- --scale N --duration S]: ticketql against a hand-written
// node:http + pg baseline on the same database, in one run. See BENCHMARKS.md.
// Every run first checks its own latency driver (fixed-rate-check.ts) and stops if it
// is not open loop; `--self-check` runs that check alone.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { createApiKey } from '../src/auth/api-keys.js';
import { createDb } from '../src/db.js';
import { benchDatabase } from './database.js';
import { floorOperation, workloads } from './workloads.js';
import { baselineSide, benchRedis, fanout, ticketqlSide, type FanoutResult } from './fanout.js';
import { cpuMs, rssMbOf } from './process-cpu.js';
import { fixedRate } from './fixed-rate.js';
import { sampleLocks, WORKING_CONNECTIONS, type LockShare } from './lock-share.js';
import { checkFixedRate } from './fixed-rate-check.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    scale: { type: 'string', default: '1' },
    duration: { type: 'string', default: '5' },
    // Longer than the throughput runs: a p99 over 5 s rests on a dozen requests.
    'rate-duration': { type: 'string', default: '15' },
    connections: { type: 'string', default: '10' },
    pool: { type: 'string' },
    only: { type: 'string' },
    s1: { type: 'boolean', default: false },
    subscribers: { type: 'string', default: '1000' },
    interval: { type: 'string', default: '10' },
    's1-duration': { type: 'string', default: '30' },
    'cpu-prof': { type: 'boolean', default: false },
    // Where PostgreSQL spends its time in ticketql's throughput runs: the top statements.
    statements: { type: 'boolean', default: false },
    'self-check': { type: 'boolean', default: false },
  },
});
const SCALE = Number(args.scale);
const DURATION = Number(args.duration);
const RATE_DURATION = Number(args['rate-duration']);
const CONNECTIONS = Number(args.connections);
const log = (message: string) => process.stderr.write(`${message}\n`);

/**
 * The node arguments of `npm start` (package.json), e.g. `--enable-source-maps build/src/main.js`:
 * ticketql runs compiled, with the same flags, as in production. (Under tsx its module
 * loader runs in a thread of its own, which added about 110 MB to the server's RSS.)
 */
function startArgs(): string[] {
  const start: string = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.start;
  const m = /(?:^|\s)node\s+(.+)$/.exec(start);
  if (!m) throw new Error(`cannot read the node command of npm start: ${start}`);
  return m[1]!.trim().split(/\s+/);
}

/** `script` under tsx (the baseline and the floor), or ticketql as `npm start` runs it. */
function spawnServer(script: string | 'ticketql', env: NodeJS.ProcessEnv, nodeFlags: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  const args = script === 'ticketql' ? [...nodeFlags, ...startArgs()] : [...nodeFlags, '--import', 'tsx', script];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      // The server's error logs (pino, JSON on stdout) are shown: failures under load matter.
      for (const line of String(d).split('\n')) if (line.includes('"level":50')) process.stderr.write(`${line.slice(0, 600)}\n`);
      out += d;
      const m = /(http:\/\/(?:localhost|127\.0\.0\.1):\d+)/.exec(out);
      if (m) resolve({ child, url: m[1]!.replace('localhost', '127.0.0.1') });
    });
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}: ${out}`)));
  });
}


async function seed(db: ReturnType<typeof createDb>, sql: pg.Client) {
  const tickets = 10_000 * SCALE;
  const team = await db.team.create({ data: { name: 'Bench', slug: `bench-${Date.now()}` } });
  const { secret } = await createApiKey(db, { teamId: team.id, name: 'bench', scopes: ['READ', 'WRITE', 'DELETE', 'ADMIN'], mode: 'TEST' });
  const started = Date.now();
  await sql.query(
    `INSERT INTO agents (id, team_id, name, email, role, updated_at)
     SELECT gen_random_uuid(), $1, 'Agent ' || g, 'agent' || g || '@bench.test', 'AGENT', now() FROM generate_series(1, 20) g`,
    [team.id],
  );
  await sql.query(
    `INSERT INTO customers (id, team_id, name, email, updated_at)
     SELECT gen_random_uuid(), $1, 'Customer ' || g, 'customer' || g || '@bench.test', now() FROM generate_series(1, 500) g`,
    [team.id],
  );
  await sql.query(
    `WITH c AS (SELECT array_agg(id) AS ids FROM customers WHERE team_id = $1), a AS (SELECT array_agg(id) AS ids FROM agents WHERE team_id = $1)
     INSERT INTO tickets (id, team_id, number, title, status, priority, customer_id, assignee_id, tags, created_at, updated_at)
     SELECT gen_random_uuid(), $1, g, 'Ticket ' || g || ' about ' || (ARRAY['login','billing','dashboard','export','webhooks'])[1 + g % 5],
            (ARRAY['NEW','OPEN','IN_PROGRESS','PENDING','RESOLVED','CLOSED'])[1 + g % 6]::"TicketStatus",
            (ARRAY['LOW','NORMAL','HIGH','URGENT'])[1 + g % 4]::"TicketPriority",
            c.ids[1 + g % 500], CASE WHEN g % 3 = 0 THEN NULL ELSE a.ids[1 + g % 20] END, ARRAY['bench'],
            now() - ($2 - g) * interval '1 minute', now() - ($2 - g) * interval '1 minute'
     FROM generate_series(1, $2) g, c, a`,
    [team.id, tickets],
  );
  await sql.query(`UPDATE teams SET ticket_seq = $2 WHERE id = $1`, [team.id, tickets]);
  await sql.query(
    `INSERT INTO messages (id, ticket_id, sender, body, author_agent_id, author_customer_id, created_at)
     SELECT gen_random_uuid(), t.id, CASE WHEN k % 2 = 0 THEN 'AGENT' ELSE 'CUSTOMER' END::"MessageSender",
            'Message ' || k || ' of ticket ' || t.number, CASE WHEN k % 2 = 0 THEN t.assignee_id END, CASE WHEN k % 2 = 1 THEN t.customer_id END,
            t.created_at + k * interval '1 second'
     FROM tickets t, generate_series(1, 10) k WHERE t.team_id = $1`,
    [team.id],
  );
  await sql.query(`UPDATE tickets SET message_count = 10, public_message_count = 10 WHERE team_id = $1`, [team.id]);
  await sql.query('ANALYZE');
  log(`seeded ${tickets} tickets, ${tickets * 10} messages, 500 customers, 20 agents in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  const { rows } = await sql.query<{ id: string }>(`SELECT id FROM tickets WHERE team_id = $1 ORDER BY number LIMIT 1 OFFSET $2`, [team.id, Math.floor(tickets / 2)]);
  return { teamId: team.id, key: secret, ticketId: rows[0]!.id };
}

type Measured = {
  rps: number;
  p50: number;
  p99: number;
  cpuPerReq: number;
  sqlPerReq: number | null;
  requests: number;
  errors: number;
  lagP99: number | null;
  /** The server's largest resident set size during the run, in MB. */
  rssMb: number;
  /** ticketql's largest V8 heap during the run (its /metrics, once a second), in MB. */
  heapMb: { total: number; used: number } | null;
};

/** ticketql's V8 heap now (prom-client's default metrics on /metrics), in MB. */
async function heapMbOf(url: string): Promise<{ total: number; used: number } | null> {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const read = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN) / 1048576;
    const heap = { total: read('nodejs_heap_size_total_bytes'), used: read('nodejs_heap_size_used_bytes') };
    return Number.isFinite(heap.total) && Number.isFinite(heap.used) ? heap : null;
  } catch {
    return null;
  }
}

/** A GraphQL answer without errors: a workload that answers errors measures nothing, and fails the run. */
const answersWithoutErrors = (body: string) => !body.includes('"errors":');

/**
 * Throughput at fixed concurrency (autocannon, closed loop), or, with `rate`, latency at
 * that fixed request rate (open loop, see fixed-rate.ts); CPU and SQL statements of the run.
 */
async function measure(
  target: { url: string; pid: number; heap?: boolean },
  request: { path: string; body?: string; headers: Record<string, string>; answers?: (body: string) => boolean },
  stats: () => Promise<number | null>,
  rate?: number,
): Promise<Measured> {
  const method = request.body ? 'POST' : 'GET';
  const run = async (duration: number) => {
    if (rate) {
      const r = await fixedRate(`${target.url}${request.path}`, { method, body: request.body, headers: request.headers, answers: request.answers }, rate, duration);
      return { requests: r.requests, sent: r.requests + r.errors, rps: r.requests / duration, p50: r.p50, p99: r.p99, errors: r.errors, lagP99: r.lagP99 };
    }
    const r = await autocannon({
      url: `${target.url}${request.path}`,
      method,
      headers: request.headers,
      body: request.body,
      connections: CONNECTIONS,
      duration,
      ...(request.answers && { verifyBody: (body: string | Buffer | undefined) => request.answers!(String(body ?? '')) }),
    });
    // `sent` counts the requests still in flight when autocannon stops: the server runs them too.
    return { requests: r.requests.total, sent: r.requests.sent, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx + r.mismatches, lagP99: null };
  };
  await run(1); // warm-up
  const sqlBefore = await stats();
  const cpuBefore = cpuMs(target.pid);
  let rssMb = rssMbOf(target.pid);
  const sampler = setInterval(() => (rssMb = Math.max(rssMb, rssMbOf(target.pid))), 250);
  let heapMb: Measured['heapMb'] = null;
  const sampleHeap = async () => {
    const h = target.heap ? await heapMbOf(target.url) : null;
    if (h) heapMb = { total: Math.max(heapMb?.total ?? 0, h.total), used: Math.max(heapMb?.used ?? 0, h.used) };
  };
  const heapSampler = setInterval(() => void sampleHeap(), 1000);
  const result = await run(rate ? RATE_DURATION : DURATION).finally(() => {
    clearInterval(sampler);
    clearInterval(heapSampler);
  });
  await sampleHeap();
  // CPU and statements are those of every request sent: `stats` waits for the last to end.
  const sqlAfter = await stats();
  const cpu = cpuMs(target.pid) - cpuBefore;
  const { sent, ...answered } = result;
  return {
    ...answered,
    rssMb: Math.max(rssMb, rssMbOf(target.pid)),
    heapMb,
    cpuPerReq: cpu / Math.max(1, sent),
    sqlPerReq: sqlBefore !== null && sqlAfter !== null ? (sqlAfter - sqlBefore) / Math.max(1, sent) : null,
  };
}

/** Waits (at most 5 s) until no other connection of the database runs a statement or a transaction. */
async function untilQuiet(sql: pg.Client) {
  for (const end = Date.now() + 5000; Date.now() < end; ) {
    const { rows } = await sql.query<{ n: string }>(`SELECT count(*) AS n FROM pg_stat_activity WHERE ${WORKING_CONNECTIONS}`);
    if (rows[0]!.n === '0') return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Fails the run when the fixed-rate driver is not open loop: its latencies would measure bursts. */
async function selfCheck() {
  const failures = await checkFixedRate();
  if (failures.length) throw new Error(`the fixed-rate driver is not open loop (bench/fixed-rate-check.ts):\n  ${failures.join('\n  ')}`);
  log('self-check: the fixed-rate driver sends at its rate and keeps sending while answers are slow');
}

/** The statements with the most execution time since the last reset, as table rows. */
async function topStatements(sql: pg.Client, workload: string): Promise<string[]> {
  // A prepared statement is planned a few times per connection, then runs its cached plan:
  // planning is shown per planning and spread over all calls.
  const { rows } = await sql.query<{ query: string; calls: string; plans: string; plan: number; planPerCall: number; mean: number; share: number }>(`
    SELECT regexp_replace(left(query, 90), '\\s+', ' ', 'g') AS query, calls, plans, mean_plan_time AS plan,
           total_plan_time / nullif(calls, 0) AS "planPerCall", mean_exec_time AS mean,
           total_exec_time / nullif(sum(total_exec_time) OVER (), 0) AS share
    FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_%'
    ORDER BY total_exec_time + total_plan_time DESC LIMIT 6`);
  return rows.map(
    (r) =>
      `| ${workload} | \`${r.query.replaceAll('|', '\\|')}\` | ${r.calls} | ${r.plans} | ${r.plan.toFixed(2)} / ${(r.planPerCall ?? 0).toFixed(3)} | ${r.mean.toFixed(2)} | ${(100 * r.share).toFixed(0)} % |`,
  );
}

async function main() {
  await selfCheck();
  if (args['self-check']) return;
  // ticketql runs compiled, as `npm start` runs it (its prestart builds too).
  execFileSync('npm', ['run', '-s', 'build'], { cwd: root, stdio: 'inherit' });
  const database = await benchDatabase();
  const databaseUrl = database.url;
  const children: ChildProcess[] = [];
  let stopRedis = () => {};
  try {
    const sql = new pg.Client({ connectionString: databaseUrl });
    await sql.connect();
    // Without pg_stat_statements preloaded (a BENCH_DATABASE_URL of your own), SQL counts read n/a.
    const statsAvailable = await sql
      .query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
      .then(() => sql.query('SELECT 1 FROM pg_stat_statements LIMIT 1'))
      .then(
        () => true,
        () => false,
      );
    // The bench's own queries (these counts, the lock sampler's) are not the servers'.
    // Read once the servers' requests have ended: those in flight when a run stops (or
    // its warm-up) would otherwise count for the next run, or for none.
    const stats = async () => {
      await untilQuiet(sql);
      return statsAvailable ? Number((await sql.query<{ n: string }>(`SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_statements WHERE query NOT ILIKE '%pg_stat_statements%' AND query NOT ILIKE '%pg_stat_activity%'`)).rows[0]!.n) : null;
    };
    const db = createDb(databaseUrl, 2);
    const s = await seed(db, sql);
    await db.$disconnect();

    const poolSize = args.pool ?? String(Math.max(4, os.cpus().length * 4));
    // ticketql as in production, without job workers and with the cost budget lifted.
    const serverEnv = (redisUrl: string) => ({
      NODE_ENV: 'production',
      DATABASE_URL: databaseUrl,
      JWT_SECRET: 'bench-secret-bench-secret-bench-secret-0',
      PORT: '0',
      MIGRATE_ON_START: 'false',
      WORKERS: '0',
      LOG_LEVEL: 'error',
      DATABASE_POOL_SIZE: poolSize,
      COST_BUDGET: '1000000000',
      REDIS_URL: redisUrl,
    });
    // --cpu-prof: a V8 CPU profile of the ticketql process, written when it stops.
    const profileFlags = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${path.join(root, 'bench', 'profiles')}`] : [];
    const ticketql = await spawnServer('ticketql', serverEnv(''), profileFlags);
    children.push(ticketql.child);
    const baseline = await spawnServer('bench/baseline-server.ts', { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: poolSize });
    children.push(baseline.child);
    const floor = await spawnServer('bench/floor-server.ts', { NODE_ENV: 'production', DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: poolSize });
    children.push(floor.child);

    const rows: string[] = [];
    const failed: string[] = [];
    const lockRows: string[] = [];
    const pct = (n: number, of: number) => `${of ? ((100 * n) / of).toFixed(1) : 'n/a'} %`;
    const lockRow = (name: string, l: LockShare) =>
      `| ${name} | ${(l.busy / Math.max(1, l.samples)).toFixed(1)} | ${pct(l.waitingTeam, l.busy)} | ${pct(l.waitingOther, l.busy)} | ${pct(l.idleInTransaction, l.busy)} |`;
    const statementRows: string[] = [];
    const only = args.only?.split(',');
    for (const w of workloads(s).filter((x) => !only || only.includes(x.name))) {
      log(`${w.name}: ${w.what}`);
      const gqlRequest = {
        path: '/graphql',
        body: JSON.stringify(w.graphql),
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.key}` },
        answers: answersWithoutErrors,
      };
      const baseRequest = { path: w.baseline.path, body: w.baseline.body && JSON.stringify(w.baseline.body), headers: { 'content-type': 'application/json' } };
      const floorRequest = { path: '/graphql', body: JSON.stringify(floorOperation(w)), headers: { 'content-type': 'application/json' }, answers: answersWithoutErrors };
      // One request first: a workload that answers GraphQL errors would measure nothing.
      for (const [server, request] of [[ticketql, gqlRequest], [floor, floorRequest]] as const) {
        const probe = (await (await fetch(`${server.url}/graphql`, { method: 'POST', headers: request.headers, body: request.body })).json()) as { errors?: unknown };
        if (probe.errors) throw new Error(`${w.name} answers errors: ${JSON.stringify(probe.errors)}`);
      }
      const base = await measure({ url: baseline.url, pid: baseline.child.pid! }, baseRequest, stats);
      const bare = await measure({ url: floor.url, pid: floor.child.pid! }, floorRequest, stats);
      // Writes: how long their transactions wait for each other's row locks (all to one team).
      const locks = w.name.startsWith('M') ? await sampleLocks(databaseUrl) : undefined;
      if (args.statements && statsAvailable) await sql.query('SELECT pg_stat_statements_reset()');
      const ours = await measure({ url: ticketql.url, pid: ticketql.child.pid!, heap: true }, gqlRequest, stats);
      if (locks) lockRows.push(lockRow(w.name, await locks.stop()));
      if (args.statements && statsAvailable) statementRows.push(...(await topStatements(sql, w.name)));
      const rate = Math.max(1, Math.round(ours.rps * 0.7));
      const atRate = await measure({ url: ticketql.url, pid: ticketql.child.pid!, heap: true }, gqlRequest, stats, rate);
      const baseAtRate = await measure({ url: baseline.url, pid: baseline.child.pid! }, baseRequest, stats, rate);
      const fmt = (n: number | null, digits = 1) => (n === null ? 'n/a' : n.toFixed(digits));
      const heapOf = (...runs: Measured[]) => {
        const heaps = runs.flatMap((r) => (r.heapMb ? [r.heapMb] : []));
        return heaps.length ? `${fmt(Math.max(...heaps.map((h) => h.total)), 0)} (${fmt(Math.max(...heaps.map((h) => h.used)), 0)})` : 'n/a';
      };
      const errors = base.errors + bare.errors + ours.errors + atRate.errors + baseAtRate.errors;
      if (errors > 0) failed.push(`${w.name} (${errors} failed answers)`);
      rows.push(
        `| ${w.name} | ${w.what} | ${fmt(base.rps, 0)} | ${fmt(bare.rps, 0)} (${fmt((bare.rps / base.rps) * 100, 0)} %) | ${fmt(ours.rps, 0)} | **${fmt((ours.rps / base.rps) * 100, 0)} %** | ${fmt((ours.rps / bare.rps) * 100, 0)} % | ${ours.p50} / ${ours.p99} | ${rate} → ${fmt(atRate.p50)} / ${fmt(atRate.p99)} (${fmt(baseAtRate.p50)} / ${fmt(baseAtRate.p99)}) | ${fmt(atRate.lagP99)} | ${fmt(base.cpuPerReq, 2)} / ${fmt(bare.cpuPerReq, 2)} / ${fmt(ours.cpuPerReq, 2)} | ${fmt(base.sqlPerReq)} / ${fmt(ours.sqlPerReq)} | ${fmt(Math.max(ours.rssMb, atRate.rssMb), 0)} / ${heapOf(ours, atRate)} | ${errors > 0 ? `**${errors}: FAILED**` : '0'} |`,
      );
      log(rows.at(-1)!);
    }
    await sql.end();

    let s1 = '';
    if (args.s1) {
      const redis = await benchRedis();
      stopRedis = redis.stop;
      const a = await spawnServer('ticketql', serverEnv(redis.url), profileFlags);
      const b = await spawnServer('ticketql', serverEnv(redis.url), profileFlags);
      const baseEnv = { DATABASE_URL: databaseUrl, DATABASE_POOL_SIZE: poolSize, REDIS_URL: redis.url };
      const baseA = await spawnServer('bench/baseline-server.ts', baseEnv);
      const baseB = await spawnServer('bench/baseline-server.ts', baseEnv);
      children.push(a.child, b.child, baseA.child, baseB.child);
      const load = { subscribers: Number(args.subscribers), intervalMs: Number(args.interval), durationS: Number(args['s1-duration']) };
      log(`S1: ${args.subscribers} subscribers over 2 processes, one mutation per ${args.interval} ms for ${args['s1-duration']} s — baseline`);
      const base = await fanout(baselineSide(s.teamId), { servers: [baseA.url, baseB.url], serverPids: [baseA.child.pid!, baseB.child.pid!], ...load });
      log('S1 — ticketql');
      const ours = await fanout(ticketqlSide(s.key), { servers: [a.url, b.url], serverPids: [a.child.pid!, b.child.pid!], ...load });
      const row = (name: string, r: FanoutResult) =>
        `| ${name} | ${r.subscribers} | ${r.sent} / ${r.failed} | ${r.events} | ${r.events * r.subscribers} | ${r.p50.toFixed(1)} / ${r.p99.toFixed(1)} / ${r.max.toFixed(1)} | ${r.lost} | ${r.serverCpuUsPerDelivery.toFixed(0)} / ${r.clientCpuUsPerDelivery.toFixed(0)} |`;
      s1 = [
        '',
        `S1: 2 processes on 1 Redis each side, one mutation per ${args.interval} ms for ${args['s1-duration']} s.`,
        '',
        '| S1 fan-out | subscribers | mutations sent / failed | events published | deliveries expected | publish-to-receive p50 / p99 / max ms | lost | CPU µs per delivery: servers / load generator |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        row('baseline (ws + Redis)', base),
        row('ticketql (graphql-ws)', ours),
        '',
      ].join('\n');
      log(s1);
    }
    const header = [
      `## ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC — scale ${SCALE} (${10_000 * SCALE} tickets, ${100_000 * SCALE} messages), ${CONNECTIONS} connections, ${DURATION} s per throughput run, ${RATE_DURATION} s per fixed-rate run, pools of ${poolSize} connections, ${os.cpus().length} cores`,
      '',
      ...(failed.length ? ['', `**FAILED**: answers with errors (GraphQL errors or HTTP failures) in ${failed.join(', ')}; those rows measure failures, not work.`] : []),
      '',
      '| | workload | baseline req/s | yoga floor req/s (of baseline) | ticketql req/s | ratio | ticketql of floor | ticketql p50 / p99 ms (peak) | fixed rate, 70 % of ticketql\'s peak: req/s → ticketql p50 / p99 ms (baseline p50 / p99) | load generator late by, p99 ms | CPU ms/req baseline / floor / ticketql | SQL statements/req baseline / ticketql | ticketql RSS / V8 heap total (used), MB, largest in its runs | failed answers, all five runs |',
      '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ];
    const locksTable = lockRows.length
      ? [
          '',
          `Row locks during ticketql's write runs (${CONNECTIONS} clients, one team; pg_stat_activity every 5 ms, bench/lock-share.ts):`,
          '',
          '| | connections working, mean | of their time waiting for the team row (UPDATE teams) | waiting for other rows | idle in a transaction (waiting for the server) |',
          '| --- | ---: | ---: | ---: | ---: |',
          ...lockRows,
        ]
      : [];
    const statementsTable = statementRows.length
      ? [
          '',
          "PostgreSQL's time in ticketql's throughput runs (pg_stat_statements), the statements with the most:",
          '',
          '| | statement | calls (with the 1 s warm-up) | times planned | planning ms: per planning / per call | execution ms per call, mean | of all execution time |',
          '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
          ...statementRows,
        ]
      : [];
    const table = [...header, ...rows, ...locksTable, ...statementsTable, '', s1].join('\n');
    process.stdout.write(`${table}\n`);
    const resultsDir = path.join(root, 'bench', 'results');
    fs.mkdirSync(resultsDir, { recursive: true });
    const variant = `${args.only ? `-${args.only.replace(/,/g, '')}` : ''}${args.pool ? `-pool${args.pool}` : ''}${args.s1 ? `-s1-${args.interval}ms` : ''}`;
    // Date and UTC time in the name: a second run of the day does not overwrite the first.
    const stamp = new Date().toISOString().slice(0, 16).replace(/[T:]/g, (c) => (c === 'T' ? '-' : ''));
    const file = path.join(resultsDir, `${stamp}-scale${SCALE}${variant}.md`);
    fs.writeFileSync(file, table);
    log(`wrote ${path.relative(root, file)}`);
    if (failed.length) {
      log(`bench failed: answers with errors in ${failed.join(', ')}`);
      process.exitCode = 1;
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1500));
    stopRedis();
    await database.stop();
  }
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
