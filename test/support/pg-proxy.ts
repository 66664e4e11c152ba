// A TCP proxy in front of PostgreSQL that can lose the answer to one transaction's
// COMMIT: PostgreSQL gets the COMMIT and commits, the client never hears back. A server
// killed while it waits for that answer has written without answering: the crash
// "between commit and answer", at a moment the test chooses rather than by luck, and
// with no hook in the product.
import net from 'node:net';
import { leftover } from './leftovers.js';

const COMMIT = Buffer.from('COMMIT');
/** Longer than any marker or COMMIT: what of a chunk is kept to find one split over two chunks. */
const TAIL = 256;

export type PgProxy = {
  /** `databaseUrl` with the proxy's host and port. */
  url: string;
  /**
   * The next connection that sends `marker` (e.g. a ticket's title, sent as a bound
   * parameter) and then COMMIT gets no more answers from PostgreSQL; resolves once that
   * COMMIT has been passed on. Later connections are left alone.
   */
  loseCommitAnswer(marker: string): Promise<void>;
  close(): Promise<void>;
};

export async function pgProxy(databaseUrl: string): Promise<PgProxy> {
  const target = new URL(databaseUrl);
  const sockets = new Set<net.Socket>();
  let trap: { marker: Buffer; sprung: () => void } | undefined;

  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    let tail = Buffer.alloc(0);
    let armed = false;
    let held = false;
    client.on('data', (chunk: Buffer) => {
      upstream.write(chunk);
      const t = trap;
      if (!t || held) return;
      let window = Buffer.concat([tail, chunk]);
      if (!armed) {
        const at = window.indexOf(t.marker);
        if (at < 0) {
          tail = window.subarray(-TAIL);
          return;
        }
        armed = true;
        window = window.subarray(at + t.marker.length);
      }
      if (window.includes(COMMIT)) {
        held = true;
        trap = undefined;
        t.sprung();
      } else {
        tail = window.subarray(-TAIL);
      }
    });
    upstream.on('data', (chunk: Buffer) => {
      if (!held) client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const proxied = new URL(databaseUrl);
  proxied.hostname = '127.0.0.1';
  proxied.port = String((server.address() as net.AddressInfo).port);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }));
  leftover('a PostgreSQL proxy', close);
  return {
    url: proxied.toString(),
    loseCommitAnswer: (marker) => new Promise<void>((resolve) => (trap = { marker: Buffer.from(marker), sprung: resolve })),
    close,
  };
}
