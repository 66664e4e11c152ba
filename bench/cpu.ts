// npm run bench:cpu [-- Q1,M1]: CPU time per operation, measured in process and
// one operation at a time (no HTTP, no load generator, no concurrency). Steadier
// than the load runs of `npm run bench` on a shared machine: use it to compare a
// change before and after. See BENCHMARKS.md.
import { buildApp } from '../src/app.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { createDb } from '../src/db.js';
import { createLogger } from '../src/logger.js';
import { benchDatabase } from './database.js';
import { workloads } from './workloads.js';

const database = await benchDatabase();
const db = createDb(database.url, 8);
const team = await db.team.create({ data: { name: 'CPU', slug: `cpu-${Date.now()}` } });
const { secret } = await createApiKey(db, { teamId: team.id, name: 'bench', scopes: ['READ', 'WRITE', 'DELETE', 'ADMIN'], mode: 'TEST' });
const app = buildApp({ db, log: createLogger('error'), jwtSecret: 'bench-secret-bench-secret-bench-secret-0', limits: { budget: 1e12 } });

async function post(query: string, variables?: Record<string, unknown>) {
  const res = await app.yoga.fetch('http://bench/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query, variables }),
  });
  const json = (await res.json()) as { data?: any; errors?: unknown };
  if (json.errors) throw new Error(JSON.stringify(json.errors));
  return json.data;
}

// A ticket with a thread of ten messages, and sixty open tickets to list.
const created = await post('mutation { createTicket(input: { title: "Thread", body: "Hello", customer: { email: "c@bench.test", name: "C" } }) { ticket { id } } }');
const id: string = created.createTicket.ticket.id;
for (let i = 0; i < 9; i++) await post('mutation($t: ID!) { addMessage(input: { ticketId: $t, body: "Reply" }) { message { id } } }', { t: id });
for (let i = 0; i < 60; i++) await post('mutation { createTicket(input: { title: "Open", status: OPEN, customer: { email: "c@bench.test" } }) { ticket { id } } }');

const only = process.argv[2]?.split(',');
try {
  // The same operations as the load runs.
  for (const { name, graphql: { query, variables } } of workloads({ teamId: team.id, ticketId: id })) {
    if (only && !only.includes(name)) continue;
    for (let i = 0; i < 100; i++) await post(query, variables); // warm-up
    const n = name.startsWith('M') ? 300 : 1000;
    const before = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < n; i++) await post(query, variables);
    const cpu = process.cpuUsage(before);
    process.stdout.write(`${name}: ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms CPU, ${((performance.now() - started) / n).toFixed(2)} ms wall per operation\n`);
  }
} finally {
  await db.$disconnect();
  await database.stop();
}
