// S1: live fan-out. N graphql-ws subscribers spread over two server processes on
// one Redis; one mutation every `interval` ms; publish-to-receive latency and lost
// events. `npm run bench -- --s1` runs it after the request workloads.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export type FanoutResult = { subscribers: number; sent: number; failed: number; events: number; p50: number; p99: number; max: number; lost: number; durationS: number };

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
      const c = net.connect(port, '127.0.0.1', () => (c.end(), r(true)));
      c.on('error', () => r(false));
    });
    if (up) return { url: `redis://127.0.0.1:${port}`, stop: () => child.kill() };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start (install it, or set REDIS_URL)');
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;

export async function fanout(options: {
  servers: string[];
  key: string;
  subscribers: number;
  intervalMs: number;
  durationS: number;
}): Promise<FanoutResult> {
  const clients: Client[] = [];
  const sentAt = new Map<string, number>();
  const arrivals: Array<{ id: string; at: number }> = [];
  let subscribed = 0;
  for (let i = 0; i < options.subscribers; i++) {
    const client = createClient({
      url: `${options.servers[i % options.servers.length]!.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${options.key}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => {},
    });
    clients.push(client);
    client.subscribe<{ ticketEvents: { ticketId: string } }>(
      { query: 'subscription { ticketEvents(filter: { types: [CREATED] }) { ticketId } }' },
      {
        next: ({ data }) => {
          const id = data?.ticketEvents.ticketId;
          if (id) arrivals.push({ id, at: performance.now() });
        },
        error: () => {},
        complete: () => {},
      },
    );
    subscribed++;
    if (subscribed % 100 === 0) await new Promise((r) => setTimeout(r, 50)); // do not storm the servers
  }
  await new Promise((r) => setTimeout(r, 2000)); // let every subscription reach its server

  const until = performance.now() + options.durationS * 1000;
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
      fetch(`${server}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${options.key}` },
        body: JSON.stringify({ query: `mutation { createTicket(input: { title: "fan-out ${n}" }) { ticketId } }` }),
      })
        .then((r) => r.json() as Promise<{ data?: { createTicket: { ticketId: string } } }>)
        .then((body) => {
          const id = body.data?.createTicket.ticketId;
          if (id) sentAt.set(id, started);
          else failure(JSON.stringify((body as { errors?: unknown }).errors).replace(/"requestId":"[^"]*"/g, ""));
        })
        .catch((err: Error) => failure(err.message)),
    );
    const wait = options.intervalMs - (performance.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(pending);
  await new Promise((r) => setTimeout(r, 5000)); // stragglers
  for (const client of clients) void client.dispose();
  for (const [what, count] of failures) process.stderr.write(`S1: ${count} mutations failed: ${what.slice(0, 300)}\n`);

  // Latency from the start of the mutation request to each subscriber's receipt.
  const latencies: number[] = [];
  for (const { id, at } of arrivals) {
    const sent = sentAt.get(id);
    if (sent !== undefined) latencies.push(at - sent);
  }
  const expected = sentAt.size * options.subscribers;
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
  };
}
