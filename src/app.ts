// The server: yoga with its plugins behind the HTTP server, and graphql-ws on the
// same path. `buildApp` wires the parts; each part lives in its own module.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { AttachmentFiles } from './attachments/files.js';
import { createLinks } from './attachments/links.js';
import { directoryStore, type AttachmentStore } from './attachments/store.js';
import type { Redis } from 'ioredis';
import { createCredentialCache } from './auth/credential-cache.js';
import { authenticate, viewersOf } from './auth/viewer.js';
import { DEFAULT_ATTACHMENTS, DEFAULT_LIMITS, DEFAULT_TRANSPORT, type AttachmentOptions, type LimitOptions, type TransportOptions } from './config.js';
import type { Context, ServerContext } from './context.js';
import type { Db } from './db.js';
import { serveAttachments } from './http/attachments.js';
import { clientIpOf } from './http/client-ip.js';
import { renderGraphiQL } from './http/graphiql.js';
import { readiness } from './http/health.js';
import { closeGracefully, createHttpServer, listen } from './http/server.js';
import { attachWebSockets } from './http/ws.js';
import { createEventBus, type EventBus } from './live/bus.js';
import { createPresence } from './live/presence.js';
import type { Logger } from './logger.js';
import { createMetrics } from './platform/metrics.js';
import { createLimiter } from './platform/rate-limits.js';
import { csrfPreventionPlugin } from './plugins/csrf.js';
import { bodyLimitPlugin } from './plugins/body-limit.js';
import { boundedParserCaches } from './plugins/document-cache.js';
import { errorMaskingPlugin, maskError } from './plugins/error-masking.js';
import { idempotencyPlugin, keyedMutationFields } from './plugins/idempotency.js';
import { inputHygienePlugin } from './plugins/input-hygiene.js';
import { limitPlugins } from './plugins/limits.js';
import { createPersistedOperations, type PersistedMode } from './plugins/persisted-operations.js';
import { prometheusPlugin } from './plugins/prometheus.js';
import { rateLimitHeadersPlugin } from './plugins/rate-limit-headers.js';
import { refusedCredentialPlugin } from './plugins/refused-credential.js';
import { responseExtensionsPlugin } from './plugins/response-extensions.js';
import { credentialExpiryPlugin } from './plugins/credential-expiry.js';
import { sharedLiveResults } from './plugins/shared-live-results.js';
import { uploadsPlugin } from './plugins/uploads.js';
import { schema } from './schema/index.js';

export type AppOptions = {
  db: Db;
  log: Logger;
  jwtSecret: string;
  /** Checked by /readyz, and shares rate limits and budgets, when given. */
  redis?: Redis;
  /** Live events. @default an in-process bus */
  bus?: EventBus;
  /** GraphiQL on GET /graphql for browsers. @default true */
  graphiql?: boolean;
  /** Milliseconds open requests get to finish on stop(). @default 10000 */
  shutdownTimeoutMs?: number;
  /** Anonymous ticket submissions per client IP and hour. @default 10 */
  publicTicketsPerHour?: number;
  /** Trusted proxies in front (X-Forwarded-For entries counted from the right); true is 1. @default 0 */
  trustProxy?: boolean | number;
  /** Timeouts, the metrics token and subscription caps. @default DEFAULT_TRANSPORT */
  transport?: Partial<TransportOptions>;
  /** Production rules (https-only webhooks, no private addresses). @default false */
  production?: boolean;
  /** Operation limits and cost budget. @default DEFAULT_LIMITS */
  limits?: Partial<LimitOptions>;
  /** Largest request body. @default 1 MiB */
  maxBodyBytes?: number;
  /** Extra yoga plugins (tracing). */
  plugins?: Plugin[];
  /** How long a presence entry holds without a heartbeat. @default 30000 */
  presenceTtlMs?: number;
  /** Where attached files go, and their limits. @default a new temporary directory, DEFAULT_ATTACHMENTS */
  attachments?: Partial<AttachmentOptions> & { store?: AttachmentStore };
  /** Persisted operations mode and allow-list. @default { mode: 'apq' } */
  persisted?: { mode: PersistedMode; manifest?: Map<string, string> };
};

/** Where a request was sent, for links in its answers: its URL, or for a WebSocket operation the upgrade's Host. */
function originOf(request: Request | undefined, req: ServerContext['req'] | undefined): string {
  if (request?.url) return new URL(request.url).origin;
  return `http://${req?.headers.host ?? 'localhost'}`;
}

export function buildApp(options: AppOptions) {
  const { db, log, jwtSecret, redis } = options;
  const bus = options.bus ?? createEventBus({});
  const presence = createPresence({
    bus,
    redis,
    ttlMs: options.presenceTtlMs,
    onError: (err) => log.warn({ err: (err as Error).message }, 'presence not stored'),
  });
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const metrics = createMetrics(db);
  const limits = {
    publicTickets: createLimiter({ name: 'public-tickets', points: options.publicTicketsPerHour ?? 10, durationSeconds: 3600, redis }),
    // Each replay queues up to 500 deliveries: a few per endpoint and hour serve a catch-up.
    webhookReplays: createLimiter({ name: 'webhook-replays', points: 10, durationSeconds: 3600, redis }),
  };
  const transport = { ...DEFAULT_TRANSPORT, ...options.transport };
  const proxies = Number(options.trustProxy ?? 0);
  const clientIp = (req: ServerContext['req'] | undefined) => (req ? clientIpOf(req, proxies) : 'unknown');

  // Credentials are cached for a second; a team's are dropped when the bus tells of
  // a revoked or changed credential in it, or of its deletion, from whichever process
  // made the change (auth/credential-cache.ts).
  const credentials = createCredentialCache((changed) => bus.onCredentialChange((event) => changed(event.teamId)));
  const viewers = viewersOf(db, jwtSecret, credentials);
  const { store, ...attachmentLimits } = options.attachments ?? {};
  const files: Omit<AttachmentFiles, 'base'> = {
    store: store ?? directoryStore(fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-attachments-'))),
    links: createLinks(jwtSecret),
    limits: { ...DEFAULT_ATTACHMENTS, ...attachmentLimits },
  };
  // A multipart body: its fields (operations, map) within the JSON limit, and the files within theirs.
  const maxMultipartBytes = maxBodyBytes + files.limits.maxPerMessage * (files.limits.maxBytes + 16_384);
  const persisted = createPersistedOperations(options.persisted?.mode ?? 'apq', options.persisted?.manifest);

  const yoga = createYoga<ServerContext, Context>({
    schema: keyedMutationFields(schema),
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // bodyLimitPlugin applies it to every body but multipart ones (see plugins/uploads.ts).
    maxRequestBodySize: false,
    parserAndValidationCache: boundedParserCaches(),
    // GraphQL-over-HTTP persisted documents are sent as `documentId`.
    extraParamNames: ['documentId'],
    graphiql: options.graphiql === false ? false : { title: 'ticketql', subscriptionsProtocol: 'WS' },
    renderGraphiQL,
    // Unexpected errors are logged once by maskError, with the request id where it
    // is known: execution (errorMaskingPlugin), the context, and the plugins that
    // reach the database or Redis before execution (idempotency, cost budget).
    logging: false,
    maskedErrors: { maskError: (error) => maskError(error, undefined, log) },
    context: async ({ request, requestId, req, connectionParams, dropConnection, onDisconnect, sendNext }): Promise<Context> => {
      try {
        return {
          db,
          bus,
          requestId,
          log: log.child({ requestId }),
          clientIp: clientIp(req),
          production: options.production ?? false,
          metrics,
          limits,
          dropConnection,
          onDisconnect,
          sendNext,
          presence,
          writes: { last: null },
          attachments: { ...files, base: files.limits.publicUrl ?? originOf(request, req) },
          viewer: await (connectionParams ? viewers.ofConnection(connectionParams) : viewers.ofRequest(request)),
        };
      } catch (err) {
        throw maskError(err, requestId, log);
      }
    },
    plugins: [
      errorMaskingPlugin(log),
      sharedLiveResults(log),
      credentialExpiryPlugin(),
      persisted.plugin,
      ...limitPlugins({ ...DEFAULT_LIMITS, ...options.limits, maxSubscriptionsPerCredential: transport.maxSubscriptionsPerCredential }, log, redis),
      inputHygienePlugin(),
      csrfPreventionPlugin(),
      uploadsPlugin({ db, bus, files, viewerOf: viewers.ofRequest, maxFieldBytes: maxBodyBytes }),
      rateLimitHeadersPlugin(),
      prometheusPlugin(metrics),
      responseExtensionsPlugin(metrics),
      refusedCredentialPlugin(viewers.ofRequest),
      ...((options.plugins ?? []) as Plugin<Record<string, unknown>, ServerContext>[]),
      idempotencyPlugin({
        db,
        log,
        viewerOf: viewers.ofRequest,
        requestIdOf: (ctx) => (ctx as ServerContext).requestId,
        clientIpOf: (ctx) => clientIp((ctx as ServerContext).req),
      }),
      // Last: it wraps whichever request parser the plugins above chose.
      bodyLimitPlugin(maxBodyBytes),
    ],
  });

  const server = createHttpServer({
    graphql: yoga,
    ready: () => readiness(db, redis),
    maxBodyBytes,
    maxMultipartBytes,
    routes: (req, res, requestId) => serveAttachments({ db, bus, files, log }, req, res, requestId),
    ...transport,
  });
  const sockets = attachWebSockets(server, yoga, {
    path: '/graphql',
    authorize: (authorization) => authenticate(db, authorization, jwtSecret, credentials).then((viewer) => viewer.role !== 'ANONYMOUS', () => false),
    persisted,
    maxPayloadBytes: maxBodyBytes,
    maxSubscriptionsPerConnection: transport.maxSubscriptionsPerConnection,
  });

  return {
    yoga,
    server,
    bus,
    sockets,
    /** Listens and resolves with the base URL (port 0 picks a free port). */
    start: (port: number, host = '127.0.0.1'): Promise<string> => listen(server, port, host),
    /**
     * Stops accepting connections, lets open requests and WebSocket operations
     * finish (up to the timeout), then closes sockets with 1001.
     */
    async stop(): Promise<void> {
      presence.close();
      credentials.clear();
      if (!server.listening) return;
      const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
      const http = closeGracefully(server, timeoutMs);
      await sockets.close(timeoutMs);
      await http;
    },
  };
}

export type App = ReturnType<typeof buildApp>;
