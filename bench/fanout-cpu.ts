// Fan-out CPU per delivery inside one process, without sockets: N subscriptions
// run through yoga's pipeline as graphql-ws runs them, and events are published
// on the in-process bus. Steadier than S1 for comparing a change before and after.
// Each subscription has the WebSocket writer of the direct lane, on a socket that
// only counts what it is given (FANOUT_DIRECT=0: without it, as over SSE).
import fs from 'node:fs';
import { Session } from 'node:inspector/promises';
import './production.js';
import { parse } from 'graphql';
import { inProcessApp } from './in-process.js';
import { nextSender } from '../src/http/ws.js';

const SUBSCRIBERS = Number(process.argv[2] ?? 500);
const EVENTS = Number(process.argv[3] ?? 200);
// One key for all: the per-credential limit on open subscriptions is raised to fit them.
const { app, secret, post, stop } = await inProcessApp('Fan-out', { maxSubscriptionsPerCredential: SUBSCRIBERS });
const query = 'subscription { ticketEvents(filter: { types: [CREATED] }) { ticketId } }';

let received = 0;
const ready = new Set<number>();
const streams: AsyncIterator<unknown>[] = [];
async function publish(n: number) {
  const target = received + n * streams.length;
  for (let i = 0; i < n; i++) {
    await post('mutation { createTicket(input: { title: "Fan-out" }) { ticketId } }');
  }
  for (const until = Date.now() + 2000; received < target && Date.now() < until; ) await new Promise((r) => setTimeout(r, 5));
}

const cpuUs = async (work: () => Promise<void>) => {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
};
// The mutations alone, with nobody listening: subtracted from the deliveries below.
await publish(20);
const mutationsUs = await cpuUs(() => publish(EVENTS));

const direct = process.env.FANOUT_DIRECT !== '0';
for (let i = 0; i < SUBSCRIBERS; i++) {
  // A socket that is always open and takes every write at once; its writes are deliveries.
  const socket = {
    readyState: 1,
    send: (_data: string, taken: () => void) => {
      received++;
      ready.add(i);
      taken();
    },
  };
  const { schema, subscribe, contextFactory } = app.yoga.getEnveloped({
    req: { headers: {}, socket: {} } as never,
    requestId: `fanout-${i}`,
    connectionParams: { authorization: `Bearer ${secret}` },
    params: { query },
    ...(direct && { sendNext: nextSender(socket as never, String(i)) }),
  });
  const result = (await subscribe({ schema, document: parse(query), contextValue: await contextFactory() })) as AsyncIterable<unknown>;
  if (!(Symbol.asyncIterator in (result as object))) throw new Error(`subscribe answered ${JSON.stringify(result)}`);
  const iterator = result[Symbol.asyncIterator]();
  streams.push(iterator);
  void (async () => {
    for (let r = await iterator.next(); !r.done; r = await iterator.next()) {
      JSON.stringify({ id: String(i), type: 'next', payload: r.value }); // as graphql-ws sends it
      received++;
      ready.add(i);
    }
  })();
}
// Ready when every subscription has received an event (it starts at the log's position).
while (ready.size < SUBSCRIBERS) {
  await publish(1);
}

await publish(20); // warm-up
// FANOUT_PROFILE=file: a V8 CPU profile of the measured deliveries alone (not the setup).
const profiler = process.env.FANOUT_PROFILE ? new Session() : undefined;
if (profiler) {
  profiler.connect();
  await profiler.post('Profiler.enable');
  await profiler.post('Profiler.start');
}
const receivedBefore = received;
const totalUs = await cpuUs(() => publish(EVENTS));
if (profiler) {
  const { profile } = await profiler.post('Profiler.stop');
  fs.writeFileSync(process.env.FANOUT_PROFILE!, JSON.stringify(profile));
}
const deliveries = EVENTS * SUBSCRIBERS;
const measured = received - receivedBefore;
if (measured !== deliveries) {
  // Lost or doubled deliveries: a failed run, not a figure.
  process.stdout.write(`FAILED: ${measured} of ${deliveries} deliveries arrived\n`);
  process.exit(1);
}
process.stdout.write(
  `${SUBSCRIBERS} subscribers, ${EVENTS} events: ${((totalUs - mutationsUs) / deliveries).toFixed(1)} µs CPU per delivery ` +
    `(${(mutationsUs / EVENTS / 1000).toFixed(2)} ms per mutation, subtracted)\n`,
);
await Promise.all(streams.map((s) => s.return?.()));
await stop();
process.exit(0); // the in-process bus keeps no handle, but pending timers of the app may
