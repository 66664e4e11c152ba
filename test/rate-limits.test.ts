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
  }
});
