// npm run bench:profile [-- Q1,M1]: where an operation's CPU goes. Runs each workload
// in process, as bench:cpu does, under V8's sampling profiler (node:inspector), and
// prints the busy samples' shares grouped two ways: by package (the code that was on
// top of the stack: self time), and by phase (the first phase of PHASES that a frame
// of the sample's stack belongs to: inclusive time). See BENCHMARKS.md.
import fs from 'node:fs';
import path from 'node:path';
import './production.js';
import { Session } from 'node:inspector/promises';
import { inProcessApp } from './in-process.js';
import { workloads } from './workloads.js';

type Frame = { functionName: string; url: string };
type Node = { id: number; callFrame: Frame; children?: number[] };
type Profile = { nodes: Node[]; samples: number[] };

/** Which package (or part of ticketql) a frame's code belongs to. */
function packageOf({ url, functionName }: Frame): string {
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)' || functionName === '(idle)') return functionName;
  if (url.startsWith('wasm://')) return 'Prisma query compiler (wasm)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + 'node_modules/'.length).split('/');
    const name = first?.startsWith('@') ? `${first}/${second}` : first!;
    if (name === '@prisma/client' && url.includes('query_compiler')) return 'Prisma query compiler (wasm)';
    return name;
  }
  const src = url.indexOf('/src/');
  if (src >= 0 && !url.includes('node_modules')) return `ticketql ${url.slice(src + 1).split('/').slice(0, 2).join('/')}`;
  if (url.includes('/bench/')) return 'the harness';
  if (url.startsWith('node:') || url === '') return 'Node internals';
  return url;
}

/** Phases, by the function or file that marks them, most specific first: the first that matches any frame of a sample's stack names it. */
const PHASES: Array<[string, (f: Frame) => boolean]> = [
  ['credential lookup (auth/viewer.ts)', (f) => f.url.endsWith('/src/auth/viewer.ts')],
  ['Prisma: compile the query', (f) => f.functionName === 'compile' && f.url.includes('query_compiler')],
  ['Prisma: plan cache', (f) => f.url.endsWith('/src/prisma-plans.ts')],
  ['pg driver and sockets', (f) => /node_modules\/(pg|pg-protocol|pg-pool)\//.test(f.url) || f.url === 'node:net'],
  ['Prisma: run the plan, map results', (f) => f.url.includes('@prisma/client/runtime') || f.url.includes('@prisma/adapter-pg')],
  ['Pothos resolvers and plugins', (f) => f.url.includes('node_modules/@pothos/')],
  ['ticketql schema resolvers', (f) => f.url.includes('/src/schema/')],
  ['ticketql plugins', (f) => f.url.includes('/src/plugins/')],
  ['ticketql domain (writes)', (f) => f.url.includes('/src/domain/')],
  ['GraphQL parse and validate', (f) => /graphql\/(language|validation)\//.test(f.url)],
  ['GraphQL execute', (f) => /graphql\/execution\//.test(f.url) || f.url.includes('@graphql-tools/executor')],
  ['yoga / envelop / whatwg-node', (f) => /node_modules\/(graphql-yoga|@envelop|@whatwg-node|@graphql-yoga)\//.test(f.url)],
  ['garbage collection', (f) => f.functionName === '(garbage collector)'],
];

function shares(profile: Profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const byPackage = new Map<string, number>();
  const byPhase = new Map<string, number>();
  let busy = 0;
  for (const id of profile.samples) {
    const node = byId.get(id)!;
    const pkg = packageOf(node.callFrame);
    if (pkg === '(idle)') continue;
    busy++;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + 1);
    // The stack from the root down: the first frame a phase recognises names the sample.
    const stack: Frame[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.unshift(byId.get(at)!.callFrame);
    let phase = 'other (Node internals, the harness)';
    for (const [name, match] of PHASES) {
      if (stack.some(match)) {
        phase = name;
        break;
      }
    }
    byPhase.set(phase, (byPhase.get(phase) ?? 0) + 1);
  }
  const table = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .filter(([, n]) => n / busy >= 0.005)
      .map(([name, n]) => `| ${((100 * n) / busy).toFixed(1)} % | ${name} |`)
      .join('\n');
  return { busy, packages: table(byPackage), phases: table(byPhase) };
}

const { team, post, stop } = await inProcessApp('Profile');
const created = await post('mutation { createTicket(input: { title: "Thread", body: "Hello", customer: { email: "c@bench.test", name: "C" } }) { ticket { id } } }');
const id: string = created.createTicket.ticket.id;
for (let i = 0; i < 9; i++) await post('mutation($t: ID!) { addMessage(input: { ticketId: $t, body: "Reply" }) { message { id } } }', { t: id });
for (let i = 0; i < 60; i++) await post('mutation { createTicket(input: { title: "Open", status: OPEN, customer: { email: "c@bench.test" } }) { ticket { id } } }');

const only = (process.argv[2] ?? 'Q1,M1').split(',');
const session = new Session();
session.connect();
try {
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  for (const { name, graphql } of workloads({ teamId: team.id, ticketId: id })) {
    if (!only.includes(name)) continue;
    for (let i = 0; i < 100; i++) await post(graphql.query, graphql.variables);
    const n = name.startsWith('M') ? 500 : 1500;
    await session.post('Profiler.start');
    const before = process.cpuUsage();
    for (let i = 0; i < n; i++) await post(graphql.query, graphql.variables);
    const cpu = process.cpuUsage(before);
    const { profile } = await session.post('Profiler.stop');
    // PROFILE_DIR=dir: the raw profile too, as dir/Q1.cpuprofile (for Chrome's DevTools or speedscope).
    if (process.env.PROFILE_DIR) {
      fs.mkdirSync(process.env.PROFILE_DIR, { recursive: true });
      fs.writeFileSync(path.join(process.env.PROFILE_DIR, `${name}.cpuprofile`), JSON.stringify(profile));
    }
    const { packages, phases } = shares(profile as unknown as Profile);
    process.stdout.write(
      `\n## ${name}: ${((cpu.user + cpu.system) / 1000 / n).toFixed(2)} ms CPU per operation (${n} operations, profiler on)\n\n` +
        `By package (self time)\n\n| share | package |\n| ---: | --- |\n${packages}\n\n` +
        `By phase (inclusive: each sample counts for the first phase of the list in bench/profile.ts that is on its stack)\n\n| share | phase |\n| ---: | --- |\n${phases}\n`,
    );
  }
} finally {
  session.disconnect();
  await stop();
}
