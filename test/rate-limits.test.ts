// The cost budget's limiter takes the spends of one credential made at the same moment
// (a live event reaching many subscriptions) to its store as one, and grants or refuses
// each as it would have one at a time: in memory and through a real Redis alike.
import { Redis } from 'ioredis';
import { describe, expect, test } from 'vitest';
import { createLimiter } from '../src/platform/rate-limits.js';
import { leftover } from './support/leftovers.js';
import { redisServer } from './support/redis.js';

async function spendAtOnce(limiter: ReturnType<typeof createLimiter>, key: string, spends: number[]) {
  return Promise.all(
    spends.map((points) =>
      limiter.consume(key, points).then(
        (granted) => ({ granted: granted.remaining }),
        (err: { extensions?: { code?: string } }) => ({ refused: err.extensions?.code }),
      ),
    ),
  );
}

describe('spends of one key at the same moment', () => {
  for (const store of ['memory', 'redis'] as const) {
    test(`are granted in order until the budget is spent, then refused (${store})`, async () => {
      let redis: Redis | undefined;
      if (store === 'redis') {
        const server = await redisServer();
        redis = new Redis(server.url);
        leftover('the limiter’s Redis client', () => redis!.quit().then(() => undefined));
      }
      const limiter = createLimiter({ name: `test-${store}-${Date.now()}`, points: 10, durationSeconds: 60, redis });
      expect(await spendAtOnce(limiter, 'key', [3, 3, 3, 3, 1])).toEqual([
        { granted: 7 },
        { granted: 4 },
        { granted: 1 },
        { refused: 'RATE_LIMITED' },
        { refused: 'RATE_LIMITED' },
      ]);
      // Another key has its own budget; a later spend on the spent key is refused.
      expect(await spendAtOnce(limiter, 'other', [10])).toEqual([{ granted: 0 }]);
      expect(await spendAtOnce(limiter, 'key', [1])).toEqual([{ refused: 'RATE_LIMITED' }]);
    });

    test(`many spends taken as one (the direct lane's) share the batch with single spends, in order (${store})`, async () => {
      let redis: Redis | undefined;
      if (store === 'redis') {
        const server = await redisServer();
        redis = new Redis(server.url);
        leftover('the limiter’s Redis client', () => redis!.quit().then(() => undefined));
      }
      const limiter = createLimiter({ name: `test-each-${store}-${Date.now()}`, points: 10, durationSeconds: 60, redis });
      // 2, then 3 × 2 of which all fit (8), then 1 (9), then 4 × 2 of which none fits whole.
      const [first, each, single, rest] = await Promise.all([
        limiter.consume('key', 2).then((r) => r.remaining),
        limiter.consumeEach('key', 2, 3),
        limiter.consume('key', 1).then((r) => r.remaining),
        limiter.consumeEach('key', 2, 4),
      ]);
      expect({ first, each, single, rest }).toEqual({ first: 8, each: 3, single: 1, rest: 0 });
      // A fresh key: 10 points grant three spends of 3, not the fourth.
      expect(await limiter.consumeEach('other', 3, 4)).toBe(3);
      expect(await limiter.consumeEach('other', 3, 1)).toBe(0);
    });
  }
});
