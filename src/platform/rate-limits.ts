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
  // refused in its order, as it would have been one at a time.
  type Granted = { remaining: number; resetAt: Date };
  type Waiter = { points: number; resolve: (granted: Granted) => void; reject: (err: unknown) => void };
  const batches = new Map<string, Waiter[]>();
  const flush = async (key: string) => {
    const waiters = batches.get(key)!;
    batches.delete(key);
    const total = waiters.reduce((sum, w) => sum + w.points, 0);
    let res: RateLimiterRes;
    try {
      res = await limiter.consume(key, total);
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) {
        for (const w of waiters) w.reject(err);
        return;
      }
      res = err;
    }
    const resetAt = new Date(Date.now() + res.msBeforeNext);
    let spent = res.consumedPoints - total;
    for (const w of waiters) {
      spent += w.points;
      if (spent <= options.points) w.resolve({ remaining: options.points - spent, resetAt });
      else w.reject(rateLimited(resetAt));
    }
  };
  return {
    consume(key, points = 1) {
      return new Promise((resolve, reject) => {
        let waiters = batches.get(key);
        if (!waiters) {
          batches.set(key, (waiters = []));
          setImmediate(() => void flush(key));
        }
        waiters.push({ points, resolve, reject });
      });
    },
  };
}
