// S1: live fan-out. N graphql-ws subscribers spread over two server processes on
// one Redis; one mutation every `interval` ms; publish-to-receive latency and lost
// events. `npm run bench -- --s1` runs it after the request workloads.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { cpuMs } from './process-cpu.js';

export type FanoutResult = {
  subscribers: number;
  sent: number;
  failed: number;
  events: number;
  p50: number;
  p99: number;
  max: number;
  lost: number;
  durationS: number;
  /** CPU of both servers while mutations ran and events were delivered, per delivery (mutations included). */
  serverCpuUsPerDelivery: number;
  /** CPU of this process (the subscribers and the mutation sender), per delivery. */
  clientCpuUsPerDelivery: number;
};

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** REDIS_URL, or a redis-server of its own on a free port. */
export async function benchRedis(): Promise<{ url: string; stop(): void }> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: () => {} };
  const port = await freePort();
  const child: ChildProcess = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((r) => {
      const c = net.connect(port, '127.0.0.1', () => {
        c.end();
        r(true);
      });
      c.on('error', () => r(false));
    });
    if (up) return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start (install it, or set REDIS_URL)');
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

/** How the driver talks to one side of the comparison: ticketql, or the baseline. */
export type FanoutSide = {
  /** Opens subscriber `i` on `server`; `onEvent` gets the id of each ticket created. */
  subscribe(server: string, onEvent: (ticketId: string) => void, onEnd: (why: string) => void): { close(): void };
  /** Creates a ticket; its id, or what went wrong. */
  createTicket(server: string, title: string): Promise<{ id?: string; error?: string }>;
};

/** ticketql: graphql-ws subscribers of ticketEvents, createTicket over HTTP. */
export function ticketqlSide(key: string): FanoutSide {
  return {
    subscribe(server, onEvent, onEnd) {
      const client: Client = createClient({
        url: `${server.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${key}` },
        retryAttempts: 0,
        lazy: false,
        onNonLazyError: () => {},
        on: { closed: (event) => (event as { code?: number }).code !== 1000 && onEnd(`closed ${(event as { code?: number }).code}`) },
      });
      client.subscribe<{ ticketEvents: { ticketId: string } }>(
        { query: 'subscription { ticketEvents(filter: { types: [CREATED] }) { ticketId } }' },
        {
          next: ({ data }) => data && onEvent(data.ticketEvents.ticketId),
          error: (err) => onEnd(`error ${err instanceof Error ? err.message : JSON.stringify(err).slice(0, 200)}`),
          complete: () => {},
        },
      );
      return { close: () => void client.dispose() };
    },
    async createTicket(server, title) {
      const response = await fetch(`${server}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
        body: JSON.stringify({ query: `mutation { createTicket(input: { title: "${title}" }) { ticketId } }` }),
      });
      const body = (await response.json()) as { data?: { createTicket: { ticketId: string } }; errors?: unknown };
      const id = body.data?.createTicket.ticketId;
      return id ? { id } : { error: JSON.stringify(body.errors).replace(/"requestId":"[^"]*"/g, '') };
    },
  };
}

/** The baseline: plain WebSocket messages from bench/baseline.ts, tickets inserted with SQL. */
export function baselineSide(teamId: string): FanoutSide {
  return {
    subscribe(server, onEvent, onEnd) {
      const socket = new WebSocket(`${server.replace(/^http/, 'ws')}/live`);
      socket.on('message', (data) => onEvent((JSON.parse(String(data)) as { ticketId: string }).ticketId));
      socket.on('close', (code) => code !== 1000 && code !== 1005 && onEnd(`closed ${code}`));
      socket.on('error', (err) => onEnd(`error ${err.message}`));
      return { close: () => socket.close(1000) };
    },
    async createTicket(server, title) {
      const response = await fetch(`${server}/m2`, { method: 'POST', body: JSON.stringify({ team: teamId, title }) });
      if (!response.ok) return { error: `${response.status} ${await response.text()}` };
      return { id: ((await response.json()) as { data: { id: string } }).data.id };
    },
  };
}

export async function fanout(side: FanoutSide, options: {
  servers: string[];
  /** The servers' process ids, for their CPU time. */
  serverPids: number[];
  subscribers: number;
  intervalMs: number;
  durationS: number;
}): Promise<FanoutResult> {
  let measuring = false; // after the warm-up
  const sentAt = new Map<string, number>();
  const arrivals: Array<{ id: string; at: number }> = [];
  const readySubscribers = new Set<number>();
  // Subscriptions that ended early, by reason (a slow-consumer close, an error).
  const ended = new Map<string, number>();
  const end = (why: string) => ended.set(why, (ended.get(why) ?? 0) + 1);
  const subscriptions: Array<{ close(): void }> = [];
  for (let i = 0; i < options.subscribers; i++) {
    const onEvent = (id: string) => {
      if (!measuring) readySubscribers.add(i);
      else arrivals.push({ id, at: performance.now() });
    };
    subscriptions.push(side.subscribe(options.servers[i % options.servers.length]!, onEvent, end));
    if ((i + 1) % 100 === 0) await new Promise((r) => setTimeout(r, 50)); // do not storm the servers
  }
  // Ready when every subscriber has received an event: a subscription that had not
  // reached its server yet would miss events and count them as lost. Warm-up
  // events go out until then (each subscriber starts from the log's position).
  const readyBy = performance.now() + 60_000;
  for (let k = 0; readySubscribers.size < options.subscribers && performance.now() < readyBy; k++) {
    await side.createTicket(options.servers[k % options.servers.length]!, 'fan-out warm-up');
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (readySubscribers.size < options.subscribers) {
    process.stderr.write(`S1: only ${readySubscribers.size} of ${options.subscribers} subscribers received a warm-up event\n`);
  }

  const serverCpu = () => options.serverPids.reduce((sum, pid) => sum + cpuMs(pid), 0);
  const serverCpuBefore = serverCpu();
  const clientCpuBefore = process.cpuUsage();
  const until = performance.now() + options.durationS * 1000;
  measuring = true;
  let n = 0;
  let failed = 0;
  const failures = new Map<string, number>();
  const failure = (what: string) => {
    failed++;
    failures.set(what, (failures.get(what) ?? 0) + 1);
  };
  const pending: Promise<void>[] = [];
  while (performance.now() < until) {
    const started = performance.now();
    const server = options.servers[n % options.servers.length]!;
    n++;
    pending.push(
      side
        .createTicket(server, `fan-out ${n}`)
        .then(({ id, error }) => {
          if (id) sentAt.set(id, started);
          else failure(error ?? 'no id');
        })
        .catch((err: Error) => failure(err.message)),
    );
    const wait = options.intervalMs - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(pending);
  // Stragglers: wait until every delivery has arrived, or none has for 5 s (60 s at most).
  const expectedArrivals = () => sentAt.size * options.subscribers;
  for (let seen = -1, quietSince = performance.now(), waited = 0; arrivals.length < expectedArrivals() && waited < 60_000; waited += 100) {
    if (arrivals.length !== seen) [seen, quietSince] = [arrivals.length, performance.now()];
    else if (performance.now() - quietSince > 5000) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const serverCpuMs = serverCpu() - serverCpuBefore;
  const clientCpu = process.cpuUsage(clientCpuBefore);
  for (const subscription of subscriptions) subscription.close();
  for (const [what, count] of failures) process.stderr.write(`S1: ${count} mutations failed: ${what.slice(0, 300)}\n`);
  for (const [why, count] of ended) process.stderr.write(`S1: ${count} subscriptions ended early: ${why}\n`);

  // Latency from the start of the mutation request to each subscriber's receipt.
  const latencies: number[] = [];
  for (const { id, at } of arrivals) {
    const sent = sentAt.get(id);
    if (sent !== undefined) latencies.push(at - sent);
  }
  const expected = expectedArrivals();
  const sorted = latencies.sort((a, b) => a - b);
  const got = sorted.length;
  return {
    subscribers: options.subscribers,
    sent: n,
    failed,
    events: sentAt.size,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? 0,
    lost: expected - got,
    durationS: options.durationS,
    serverCpuUsPerDelivery: (serverCpuMs * 1000) / Math.max(1, got),
    clientCpuUsPerDelivery: (clientCpu.user + clientCpu.system) / Math.max(1, got),
  };
}
