// The bench's own check of its latency driver (fixed-rate.ts), run before it measures:
// the driver must be open loop, or "latency at a fixed rate" measures a burst at full
// concurrency instead. Against a local server it must space its requests evenly at the
// rate, and keep sending while answers are slow, counting the wait in the latency.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fixedRate } from './fixed-rate.js';

/** What is wrong with the driver; empty when it is open loop. */
export async function checkFixedRate(): Promise<string[]> {
  const arrivals: number[] = [];
  let inFlight = 0;
  let mostInFlight = 0;
  let slowMs = 0;
  const server = http.createServer((req, res) => {
    arrivals.push(performance.now());
    mostInFlight = Math.max(mostInFlight, ++inFlight);
    req.resume();
    // The answer's delay is the server being slow, not a pause of the check.
    setTimeout(() => {
      inFlight--;
      res.end('{}');
    }, slowMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const reset = (ms: number) => {
    arrivals.length = 0;
    mostInFlight = 0;
    slowMs = ms;
  };
  const failures: string[] = [];
  const expect = (ok: boolean, what: string) => void (ok || failures.push(what));
  try {
    reset(0);
    const even = await fixedRate(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }, 100, 1);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    const bunched = gaps.filter((g) => g < 3).length;
    const late = `the driver itself was late by ${even.lagP99.toFixed(1)} ms (p99)`;
    expect(even.requests === 100 && even.errors === 0, `100 requests at 100/s: ${even.requests} answered, ${even.errors} errors`);
    expect(Number.isFinite(even.lagP99), 'no lag reading at 100/s');
    // 10 ms apart on average; a closed-loop burst would send most of them under 1 ms apart.
    expect(bunched < 20, `100/s: ${bunched} of ${gaps.length} requests came under 3 ms after the previous one (a burst, not a fixed rate; ${late})`);
    const span = arrivals.at(-1)! - arrivals[0]!;
    expect(span > 900, `100/s for 1 s: sent within ${span.toFixed(0)} ms (a burst, not a fixed rate; ${late})`);

    reset(100);
    const slow = await fixedRate(url, { method: 'GET', headers: {} }, 50, 1);
    expect(slow.requests === 50, `50 requests at 50/s against 100 ms answers: ${slow.requests} answered`);
    // A request every 20 ms against 100 ms answers: about five at a time.
    expect(mostInFlight >= 4, `50/s against 100 ms answers: at most ${mostInFlight} requests in flight (it waited for answers)`);
    expect(slow.p50 >= 100, `50/s against 100 ms answers: p50 ${slow.p50.toFixed(1)} ms (below the answer time)`);
    expect(slow.p99 < 400, `50/s against 100 ms answers: p99 ${slow.p99.toFixed(1)} ms (requests queued behind each other)`);
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
  return failures;
}
