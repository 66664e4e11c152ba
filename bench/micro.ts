// CPU per operation, in process and one at a time (no HTTP, no load generator):
// a steadier reading than the load runs on a shared machine. Not a benchmark target.
import { buildApp } from '../src/app.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { createDb } from '../src/db.js';
import { migrate } from '../src/database/migrate.js';
import { createLogger } from '../src/logger.js';

const url = process.env.DATABASE_URL!;
await migrate(url);
const db = createDb(url, 8);
const team = await db.team.create({ data: { name: 'Micro', slug: `micro-${Date.now()}` } });
const { secret } = await createApiKey(db, { teamId: team.id, name: 'k', scopes: ['READ', 'WRITE', 'DELETE', 'ADMIN'], mode: 'TEST' });
const app = buildApp({ db, log: createLogger('error'), jwtSecret: 'x'.repeat(40), limits: { budget: 1e12 } });
const post = async (query: string, variables?: unknown) => {
  const res = await app.yoga.fetch('http://x/graphql', { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` }, body: JSON.stringify({ query, variables }) });
  const json = (await res.json()) as { data?: any; errors?: unknown };
  if (json.errors) throw new Error(JSON.stringify(json.errors));
  return json.data;
};
const created = await post('mutation { createTicket(input: { title: "t", body: "hello", customer: { email: "c@x.test", name: "C" } }) { ticket { id } } }');
const id = created.createTicket.ticket.id;
for (let i = 0; i < 9; i++) await post('mutation($t: ID!) { addMessage(input: { ticketId: $t, body: "r" }) { message { id } } }', { t: id });
for (let i = 0; i < 60; i++) await post('mutation { createTicket(input: { title: "t", status: OPEN, customer: { email: "c@x.test" } }) { ticket { id } } }');
const ops: Record<string, [string, unknown?]> = {
  Q1: ['query($id: ID!) { ticket(id: $id) { id number title status priority category createdAt updatedAt } }', { id }],
  Q2: ['query($id: ID!) { ticket(id: $id) { id title messages(last: 20) { edges { node { id body sender createdAt author { ... on Agent { agentName: name } ... on Customer { customerName: name } } } } } } }', { id }],
  Q3: ['{ tickets(first: 50, filter: { status: [OPEN] }) { edges { node { id title status customer { name } assignee { name } messageCount } } } }'],
  M1: ['mutation($t: ID!) { addMessage(input: { ticketId: $t, body: "Benchmark reply" }) { message { id } } }', { t: id }],
  M2: ['mutation { createTicket(input: { title: "Benchmark ticket" }) { ticket { id number } } }'],
};
const only = process.argv[2]?.split(',');
for (const [name, [query, variables]] of Object.entries(ops)) {
  if (only && !only.includes(name)) continue;
  for (let i = 0; i < 100; i++) await post(query, variables);
  const n = name.startsWith('M') ? 300 : 1000;
  const before = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await post(query, variables);
  const cpu = process.cpuUsage(before);
  console.log(`${name}: ${((cpu.user + cpu.system) / 1000 / n).toFixed(3)} ms CPU/op, ${((performance.now() - t0) / n).toFixed(3)} ms wall/op`);
}
await db.$disconnect();
process.exit(0);
