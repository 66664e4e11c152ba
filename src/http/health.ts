// /readyz: the database (and Redis, when configured) answer.
import type { Redis } from 'ioredis';
import type { Db } from '../db.js';

export type Checks = Record<string, 'ok' | 'down'>;

export async function readiness(db: Db, redis?: Redis): Promise<Checks> {
  const checks: Checks = {};
  const [database, cache] = await Promise.allSettled([db.$queryRaw`SELECT 1`, redis ? redis.ping() : Promise.resolve('skip')]);
  checks.database = database.status === 'fulfilled' ? 'ok' : 'down';
  if (redis) checks.redis = cache.status === 'fulfilled' ? 'ok' : 'down';
  return checks;
}
