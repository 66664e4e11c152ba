import type { Logger } from 'pino';
import type { Viewer } from './auth/viewer.js';
import type { Db } from './db.js';
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
  /** WebSocket only: drops the connection of a subscriber that cannot keep up. */
  dropConnection?: () => void;
};
