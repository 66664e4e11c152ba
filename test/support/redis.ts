// A redis-server of the test's own, which the test may stop and start again on the
// same port, and what Redis itself says about its Pub/Sub channels.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { leftover } from './leftovers.js';
import { eventually } from './wait.js';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

/** A redis-server on a free port (no persistence); killed when the file ends. */
export async function redisServer() {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server = {
    url: `redis://127.0.0.1:${port}`,
    /** Starts it (again, on the same port) and resolves once it accepts connections. */
    async start() {
      const started = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      child = started;
      await eventually(async () => started.exitCode === null && (await accepts(port)), { what: `redis-server to accept connections on port ${port}` });
    },
    /** Kills it at once (SIGKILL), as a crash would, and resolves once it is gone. */
    async kill() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
  leftover('a redis-server', () => server.kill());
  await server.start();
  return server;
}

/** How many connections Redis has subscribed to `channel` (PUBSUB NUMSUB). */
export async function subscribersOf(url: string, channel: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {});
  try {
    await client.connect();
    const [, count] = (await client.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
    return Number(count);
  } finally {
    client.disconnect();
  }
}
