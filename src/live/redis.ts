// Redis connections for the event bus: one publishes, one subscribes (a
// subscribed connection can do nothing else). Both reconnect on their own.
import { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export type RedisClients = { publish: Redis; subscribe: Redis; close(): Promise<void> };

export function connectRedis(url: string, log: Logger): RedisClients {
  const retryStrategy = (attempt: number) => Math.min(attempt * 200, 5_000);
  // Publishing fails fast while Redis is away (subscribers catch up from the
  // event log), instead of queueing without bound in memory.
  const publish = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, retryStrategy });
  const subscribe = new Redis(url, { maxRetriesPerRequest: null, retryStrategy });
  let down = false;
  for (const client of [publish, subscribe]) {
    client.on('error', (err) => {
      if (!down) log.warn({ err: err.message }, 'redis unavailable; live events resume when it is back');
      down = true;
    });
    client.on('ready', () => {
      if (down) log.info('redis is back');
      down = false;
    });
  }
  return {
    publish,
    subscribe,
    async close() {
      publish.disconnect();
      subscribe.disconnect();
    },
  };
}
