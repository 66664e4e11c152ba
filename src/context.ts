import type { Logger } from 'pino';
import type { Viewer } from './auth/viewer.js';
import type { Db } from './db.js';
import type { RateLimitState } from './limits.js';
import type { Metrics } from './metrics.js';
import type { EventBus } from './pubsub.js';
import type { Limiter } from './rate-limits.js';

/** What every resolver receives. Built per request (HTTP) or per operation (WebSocket). */
export type Context = {
  db: Db;
  viewer: Viewer;
  requestId: string;
  log: Logger;
  /** The client's IP address (from X-Forwarded-For only with TRUST_PROXY). */
  clientIp: string;
  limits: { publicTickets: Limiter };
  /** Live events: published after commits, read by subscriptions. */
  bus: EventBus;
  /** NODE_ENV=production: stricter webhook URLs. */
  production: boolean;
  metrics: Metrics;
  /** The cost budget after this operation (set before execution). */
  rateLimit?: RateLimitState;
  /** WebSocket only: drops the connection of a subscriber that cannot keep up. */
  dropConnection?: () => void;
};
