// npm run bench:cpu [-- Q1,M1]: CPU time per operation, measured in process and
// one operation at a time (no HTTP, no load generator, no concurrency). Steadier
// than the load runs of `npm run bench` on a shared machine: use it to compare a
// change before and after. See BENCHMARKS.md.
import './production.js';
import { inProcessApp } from './in-process.js';
import { workloads } from './workloads.js';

const { team, post, stop } = await inProcessApp('CPU');

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
    // Five rounds, and their medians: a busy neighbour's burst spoils one round, not the figure.
    const n = name.startsWith('M') ? 60 : 200;
    const cpus: number[] = [];
    const walls: number[] = [];
    for (let round = 0; round < 5; round++) {
      const before = process.cpuUsage();
      const started = performance.now();
      for (let i = 0; i < n; i++) await post(query, variables);
      const cpu = process.cpuUsage(before);
      cpus.push((cpu.user + cpu.system) / 1000 / n);
      walls.push((performance.now() - started) / n);
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!.toFixed(2);
    process.stdout.write(
      `${name}: ${median(cpus)} ms CPU, ${median(walls)} ms wall per operation (medians of 5 rounds of ${n}; CPU ${cpus.map((c) => c.toFixed(2)).join(' ')})\n`,
    );
  }
} finally {
  await stop();
}
