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
  return {
    async consume(key, points = 1) {
      try {
        const res = await limiter.consume(key, points);
        return { remaining: res.remainingPoints, resetAt: new Date(Date.now() + res.msBeforeNext) };
      } catch (err) {
        if (err instanceof RateLimiterRes) throw rateLimited(new Date(Date.now() + err.msBeforeNext));
        throw err;
      }
    },
  };
}
