import type http from 'node:http';
import type { Logger } from 'pino';
import type { AttachmentFiles } from './attachments/files.js';
import type { Viewer } from './auth/viewer.js';
import type { Db } from './db.js';
import type { Limiter, RateLimitState } from './platform/rate-limits.js';
import type { Metrics } from './platform/metrics.js';
import type { EventBus } from './live/bus.js';
import type { EventBudget, Lane } from './live/direct.js';
import type { Presence } from './live/presence.js';
import type { Writes } from './domain/change.js';
import type { IdempotencyClaim } from './domain/idempotency.js';

/** What every resolver receives. Built per request (HTTP) or per operation (WebSocket). */
export type Context = {
  db: Db;
  viewer: Viewer;
  requestId: string;
  log: Logger;
  /** The client's IP address (from X-Forwarded-For only with TRUST_PROXY). */
  clientIp: string;
  limits: { publicTickets: Limiter; webhookReplays: Limiter };
  /** Live events: published after commits, read by subscriptions. */
  bus: EventBus;
  /** Who is on which ticket (ephemeral: Redis or memory, never the database). */
  presence: Presence;
  /**
   * WebSocket only: runs `fn` when the connection closes (once per `key`): what the
   * connection announced, such as presence, ends with it.
   */
  onDisconnect?: (key: string, fn: () => void) => void;
  /** NODE_ENV=production: stricter webhook URLs. */
  production: boolean;
  metrics: Metrics;
  /** The log position of the last event this operation's changes committed: mutation payloads' `cursor`. */
  writes: Writes;
  /** Attached files: the store, link signing and limits, with links pointing at this request's origin (or PUBLIC_URL). */
  attachments: AttachmentFiles;
  /** The cost budget after this operation (set before execution). */
  rateLimit?: RateLimitState;
  /** WebSocket only: drops the connection of a subscriber that cannot keep up. */
  dropConnection?: () => void;
  /** WebSocket subscriptions only: writes a `next` message of this operation, with a payload already serialised (live/direct.ts). */
  sendNext?: (payload: string) => boolean;
  /** WebSocket subscriptions only: joins the subscriber to its group of the direct lane (set by plugins/shared-live-results.ts). */
  directLane?: () => Lane;
  /** Subscriptions only: how each event is paid for (set by plugins/limits.ts). */
  eventBudget?: EventBudget;
  /** A mutation request sent with an Idempotency-Key (set by plugins/idempotency.ts). */
  idempotency?: IdempotencyClaim;
};

/** What the HTTP server and the WebSocket server hand to yoga for each operation. */
export type ServerContext = {
  req: http.IncomingMessage;
  res?: http.ServerResponse;
  requestId: string;
  /** WebSocket: the connection_init payload, which carries `authorization`. */
  connectionParams?: Record<string, unknown>;
  /** WebSocket: closes the connection of a subscriber that cannot keep up. */
  dropConnection?: () => void;
  /** WebSocket: runs a function when the connection closes. */
  onDisconnect?: (key: string, fn: () => void) => void;
  /** WebSocket subscriptions: writes a `next` message of the operation, its payload already serialised (false: not written). */
  sendNext?: (payload: string) => boolean;
};
