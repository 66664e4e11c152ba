// The benchmark's latency driver must be open loop, or "latency at a fixed rate"
// measures a burst at full concurrency instead.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, test } from 'vitest';
import { fixedRate } from '../bench/fixed-rate.js';

const arrivals: number[] = [];
let inFlight = 0;
let mostInFlight = 0;
let slowMs = 0;
const server = http.createServer((req, res) => {
  arrivals.push(performance.now());
  mostInFlight = Math.max(mostInFlight, ++inFlight);
  req.resume();
  setTimeout(() => {
    inFlight--;
    res.end('{}');
  }, slowMs);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
afterAll(() => new Promise((r) => server.close(r)));

function reset(ms: number) {
  arrivals.length = 0;
  mostInFlight = 0;
  slowMs = ms;
}

describe('fixedRate', () => {
  test('sends requests evenly spaced at the rate, not in bursts', async () => {
    reset(0);
    const result = await fixedRate(url, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } }, 100, 1);
    expect(result.requests).toBe(100);
    expect(result.errors).toBe(0);
    expect(Number.isFinite(result.lagP99)).toBe(true);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]!);
    // 10 ms apart on average; a closed-loop burst would send most of them under 1 ms apart.
    expect(gaps.filter((g) => g < 3).length).toBeLessThan(20);
    expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThan(900);
  });

  test('keeps sending while answers are slow, and counts the wait in the latency', async () => {
    reset(100);
    const result = await fixedRate(url, { method: 'GET', headers: {} }, 50, 1);
    expect(result.requests).toBe(50);
    // A request every 20 ms against 100 ms answers: about five at a time.
    expect(mostInFlight).toBeGreaterThanOrEqual(4);
    expect(result.p50).toBeGreaterThanOrEqual(100);
    expect(result.p99).toBeLessThan(400);
  });
});
