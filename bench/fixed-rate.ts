// Latency at a fixed request rate (open loop): request i is due at start + i / rate,
// whether or not earlier ones have answered, and its latency runs from when it was due.
// autocannon's rate options are not this: each connection sends its quota for the second
// back to back and then waits for the next second, so the server sees bursts at full
// concurrency, and its coordinated-omission correction assumes a 1 ms interval.
import http from 'node:http';

export type FixedRateResult = {
  requests: number;
  errors: number;
  p50: number;
  p99: number;
  /** How late the driver itself sent requests (99th percentile, ms): high means the load generator, not the server, was behind. */
  lagP99: number;
};

/** Sends `rate` requests a second for `durationS` seconds; latencies in milliseconds. */
export async function fixedRate(
  url: string,
  request: { method: string; body?: string; headers: Record<string, string>; answers?: (body: string) => boolean },
  rate: number,
  durationS: number,
): Promise<FixedRateResult> {
  // Enough sockets that a slow answer never holds back the next request.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 512 });
  const total = Math.max(1, Math.round(rate * durationS));
  const intervalMs = 1000 / rate;
  const latencies: number[] = [];
  const lags: number[] = [];
  let errors = 0;
  const send = (due: number) =>
    new Promise<void>((resolve) => {
      lags.push(performance.now() - due);
      const req = http.request(url, { method: request.method, headers: request.headers, agent }, (res) => {
        // The body is read only when it is to be checked (see `answers`).
        let body = '';
        if (request.answers) res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        else res.resume();
        res.on('end', () => {
          if (res.statusCode === 200 && (!request.answers || request.answers(body))) latencies.push(performance.now() - due);
          else errors++;
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(request.body);
    });

  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; ) {
    const now = performance.now();
    // Every request that is due goes out now (after a late timer, several at once).
    for (; i < total && start + i * intervalMs <= now; i++) pending.push(send(start + i * intervalMs));
    if (i < total) await new Promise((r) => setTimeout(r, Math.max(0, start + i * intervalMs - performance.now())));
  }
  await Promise.all(pending);
  agent.destroy();

  const at = (values: number[], q: number) => {
    values.sort((a, b) => a - b);
    return values.length ? values[Math.min(values.length - 1, Math.floor(q * values.length))]! : NaN;
  };
  return { requests: latencies.length, errors, p50: at(latencies, 0.5), p99: at(latencies, 0.99), lagP99: at(lags, 0.99) };
}
