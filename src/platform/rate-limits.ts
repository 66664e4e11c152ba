// Rate limiters (the cost budget per credential, anonymous ticket submission per IP)
// and the operation limits' settings. In memory per process, or shared through
// Redis when the server has one.
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { ClientError } from '../errors.js';

export type RateLimitState = { cost: number; limit: number; remaining: number; resetAt: Date };

export type Limiter = {
  /** Spends `points` (default 1) for `key`; RATE_LIMITED when there are not enough left. */
  consume(key: string, points?: number): Promise<{ remaining: number; resetAt: Date }>;
  /** `count` spends of `points` each at once: how many of them, in order, were granted (the rest were refused). */
  consumeEach(key: string, points: number, count: number): Promise<number>;
};

export function rateLimited(resetAt: Date): ClientError {
  const retryAfter = Math.max(1, Math.ceil((resetAt.getTime() - Date.now()) / 1000));
  return new ClientError('RATE_LIMITED', `Too many requests: try again in ${retryAfter} s`, {
    resetAt: resetAt.toISOString(),
    retryAfter,
  });
}

/** At most `points` per `durationSeconds` for each key; RATE_LIMITED beyond that. */
export function createLimiter(options: { name: string; points: number; durationSeconds: number; redis?: Redis }): Limiter {
  const common = { keyPrefix: `ticketql:${options.name}`, points: options.points, duration: options.durationSeconds };
  const limiter: RateLimiterAbstract = options.redis
    ? new RateLimiterRedis({
        ...common,
        storeClient: options.redis,
        useRedisPackage: false,
        // While Redis is away, each process counts on its own instead of failing requests.
        insuranceLimiter: new RateLimiterMemory(common),
      })
    : new RateLimiterMemory(common);
  // Spends of one key in the same turn of the event loop go to the store as one: a live
  // event delivered to a thousand subscriptions of one credential spends its cost a
  // thousand times at once, which would otherwise be a thousand Redis round trips. The
  // store answers with the total spent, from which each spend of the batch is granted or
  // refused in its order, as it would have been one at a time. Each spend reads the
  // batch's one answer with a `.then` (not a promise, its resolvers and a waiter record
  // of its own: at a thousand spends at once, each allocation counts).
  type Batch = { total: number; answer: Promise<{ consumed: number; resetAt: Date }> };
  const batches = new Map<string, Batch>();
  const batchOf = (key: string): Batch => {
    const batch = batches.get(key);
    if (batch) return batch;
    const created: Batch = {
      total: 0,
      // Sent on the next turn; spends that join before then are in its total.
      answer: new Promise<void>((resolve) => setImmediate(resolve))
        .then(() => {
          batches.delete(key);
          return limiter.consume(key, created.total);
        })
        // The store refuses an over-budget total with its state (a RateLimiterRes) as the rejection.
        .catch((err: unknown) => {
          if (err instanceof RateLimiterRes) return err;
          throw err;
        })
        .then((res) => ({ consumed: res.consumedPoints, resetAt: new Date(Date.now() + res.msBeforeNext) })),
    };
    batches.set(key, created);
    return created;
  };
  return {
    consume(key, points = 1) {
      const batch = batchOf(key);
      const before = batch.total;
      batch.total += points;
      return batch.answer.then(({ consumed, resetAt }) => {
        const spent = consumed - batch.total + before + points;
        if (spent > options.points) throw rateLimited(resetAt);
        return { remaining: options.points - spent, resetAt };
      });
    },
    consumeEach(key, points, count) {
      const batch = batchOf(key);
      const before = batch.total;
      batch.total += points * count;
      return batch.answer.then(({ consumed }) => {
        // What the store had counted before these spends; the i-th (from 1) is granted while that plus i × points fits.
        const spentBefore = consumed - batch.total + before;
        if (points <= 0) return spentBefore <= options.points ? count : 0;
        return Math.max(0, Math.min(count, Math.floor((options.points - spentBefore) / points)));
      });
    },
  };
}
