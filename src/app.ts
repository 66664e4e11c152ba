// The HTTP server: GraphQL (yoga), GraphiQL assets, health and readiness.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GraphQLError } from 'graphql';
import { createYoga, type Plugin } from 'graphql-yoga';
import type { Redis } from 'ioredis';
import { authenticate, type Viewer } from './auth/viewer.js';
import type { Context } from './context.js';
import type { Db } from './db.js';
import { errorMaskingPlugin, maskError } from './errors-mask.js';
import { renderGraphiQL, serveGraphiQLAsset } from './graphiql.js';
import { idempotencyPlugin } from './idempotency.js';
import { sharedLiveResults } from './live.js';
import type { Logger } from './logger.js';
import { createEventBus, type EventBus } from './pubsub.js';
import { createLimiter } from './rate-limits.js';
import { DEFAULT_LIMITS, limitPlugins, type LimitOptions, type RateLimitState } from './limits.js';
import { createMetrics, type Metrics } from './metrics.js';
import { persistedOperationsPlugin, type PersistedMode } from './persisted-operations.js';
import { useCSRFPrevention } from '@graphql-yoga/plugin-csrf-prevention';
import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import { schema } from './schema/index.js';
import { attachWebSockets } from './ws.js';

export type AppOptions = {
  db: Db;
  log: Logger;
  jwtSecret: string;
  /** Checked by /readyz when given. */
  redis?: Redis;
  /** Live events. @default an in-process bus */
  bus?: EventBus;
  /** GraphiQL on GET /graphql for browsers. @default true */
  graphiql?: boolean;
  /** Milliseconds open requests get to finish on stop(). @default 10000 */
  shutdownTimeoutMs?: number;
  /** Anonymous ticket submissions per client IP and hour. @default 10 */
  publicTicketsPerHour?: number;
  /** Trust X-Forwarded-For for the client IP. @default false */
  trustProxy?: boolean;
  /** Production rules (https-only webhooks, no private addresses). @default false */
  production?: boolean;
  /** Operation limits and cost budget. @default DEFAULT_LIMITS */
  limits?: Partial<LimitOptions>;
  /** Largest request body. @default 1 MiB */
  maxBodyBytes?: number;
  /** Extra yoga plugins (tracing). */
  plugins?: Plugin[];
  /** Persisted operations mode and allow-list. @default { mode: 'apq' } */
  persisted?: { mode: PersistedMode; manifest?: Map<string, string> };
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
};

const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;

/** RateLimit-* headers (IETF draft) from the cost budget of the operation. */
function rateLimitHeaders(): Plugin<Record<string, unknown>, ServerContext> {
  const states = new WeakMap<Request, RateLimitState>();
  return {
    onExecute({ args }) {
      const ctx = args.contextValue as unknown as Context & { request: Request };
      return {
        onExecuteDone() {
          if (ctx.rateLimit && ctx.request) states.set(ctx.request, ctx.rateLimit);
        },
      };
    },
    onResponse({ request, response }) {
      const state = states.get(request);
      if (!state) return;
      response.headers.set('ratelimit-limit', String(state.limit));
      response.headers.set('ratelimit-remaining', String(state.remaining));
      response.headers.set('ratelimit-reset', String(Math.max(0, Math.ceil((state.resetAt.getTime() - Date.now()) / 1000))));
    },
  };
}

/**
 * Every error leaves with an extensions.code: graphql-armor's limit errors get
 * QUERY_TOO_COMPLEX, other syntax errors GRAPHQL_PARSE_FAILED.
 */
function codeOf(error: { message: string; extensions?: Record<string, unknown> }): string {
  if (/limit of \d+ exceeded/.test(error.message)) return 'QUERY_TOO_COMPLEX';
  const given = error.extensions?.code;
  if (typeof given === 'string') return given;
  if (error.message.startsWith('Syntax Error')) return 'GRAPHQL_PARSE_FAILED';
  return 'GRAPHQL_VALIDATION_FAILED';
}

/** Every GraphQL response: an extensions.code on each error (counted in metrics) and extensions.requestId. */
function responseExtensions(metrics: Metrics): Plugin<Record<string, unknown>, ServerContext> {
  const withCodes = <T extends { errors?: readonly GraphQLError[] }>(r: T): T => {
    if (!r.errors?.length) return r;
    const errors = r.errors.map((e) => {
      const code = codeOf(e);
      metrics.errors.inc({ code });
      if (e.extensions?.code === code) return e;
      return new GraphQLError(e.message, {
        nodes: e.nodes,
        source: e.source,
        positions: e.positions,
        path: e.path,
        originalError: e.originalError,
        extensions: { ...e.extensions, code, ...(code === 'QUERY_TOO_COMPLEX' && { http: { status: 400 } }) },
      });
    });
    return { ...r, errors };
  };
  return {
    onResultProcess({ result, setResult, serverContext }) {
      if (Array.isArray(result)) result = result.map(withCodes);
      else if (!(Symbol.asyncIterator in result)) result = withCodes(result);
      const add = <T extends { extensions?: Record<string, unknown> }>(r: T): T => ({
        ...r,
        extensions: { ...r.extensions, requestId: serverContext.requestId },
      });
      if (Array.isArray(result)) setResult(result.map(add));
      else if (!(Symbol.asyncIterator in result)) setResult(add(result));
    },
  };
}

export function buildApp(options: AppOptions) {
  const { db, log, jwtSecret, redis } = options;
  const bus = options.bus ?? createEventBus({});
  const maxBodyBytes = options.maxBodyBytes ?? 1_048_576;
  const metrics = createMetrics(db);
  const limits = {
    publicTickets: createLimiter({ name: 'public-tickets', points: options.publicTicketsPerHour ?? 10, durationSeconds: 3600, redis }),
  };
  const clientIp = (req: http.IncomingMessage): string => {
    const forwarded = options.trustProxy ? req.headers['x-forwarded-for'] : undefined;
    const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0]?.trim();
    return first || req.socket.remoteAddress || 'unknown';
  };

  // One authentication per request, shared by the idempotency check and the context.
  const viewers = new WeakMap<Request, Promise<Viewer>>();
  const viewerOf = (request: Request, authorization = request.headers.get('authorization')) => {
    let viewer = viewers.get(request);
    if (!viewer) {
      viewer = authenticate(db, authorization, jwtSecret);
      viewers.set(request, viewer);
    }
    return viewer;
  };

  const yoga = createYoga<ServerContext, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Bodies sent without Content-Length are cut off here too.
    maxRequestBodySize: options.maxBodyBytes ?? 1_048_576,
    // GraphQL-over-HTTP persisted documents are sent as `documentId`.
    extraParamNames: ['documentId'],
    graphiql: options.graphiql === false ? false : { title: 'ticketql', subscriptionsProtocol: 'WS' },
    renderGraphiQL,
    // Unexpected errors are logged once by maskError, with the request id where it
    // is known: execution (errorMaskingPlugin), the context, and the plugins that
    // reach the database or Redis before execution (idempotency, cost budget).
    logging: false,
    maskedErrors: { maskError: (error) => maskError(error, undefined, log) },
    context: async ({ request, requestId, req, connectionParams, dropConnection }): Promise<Context> => {
      const authorization = connectionParams ? connectionParams.authorization : request?.headers.get('authorization');
      try {
        return {
          db,
          bus,
          requestId,
          log: log.child({ requestId }),
          clientIp: req ? clientIp(req) : 'unknown',
          production: options.production ?? false,
          metrics,
          limits,
          dropConnection,
          viewer: connectionParams
            ? await authenticate(db, typeof authorization === 'string' ? authorization : undefined, jwtSecret)
            : await viewerOf(request),
        };
      } catch (err) {
        throw maskError(err, requestId, log);
      }
    },
    plugins: [
      errorMaskingPlugin(log),
      sharedLiveResults(),
      persistedOperationsPlugin(options.persisted?.mode ?? 'apq', options.persisted?.manifest),
      ...limitPlugins({ ...DEFAULT_LIMITS, ...options.limits }, redis),
      // Browsers may only send GraphQL requests that need a CORS preflight.
      useCSRFPrevention({ requestHeaders: ['x-graphql-csrf'] }),
      rateLimitHeaders(),
      usePrometheus({
        endpoint: '/metrics',
        registry: metrics.registry,
        // Operation counts and durations, and HTTP durations. The per-phase histograms,
        // the summary and the deprecated-field counter (which walks every document)
        // cost measurable CPU on each request and add little to these.
        metrics: {
          graphql_envelop_request: true,
          graphql_envelop_request_duration: true,
          graphql_envelop_error_result: true,
          graphql_envelop_schema_change: true,
          graphql_yoga_http_duration: true,
          graphql_envelop_request_time_summary: false,
          graphql_envelop_phase_parse: false,
          graphql_envelop_phase_validate: false,
          graphql_envelop_phase_context: false,
          graphql_envelop_phase_execute: false,
          graphql_envelop_phase_subscribe: false,
          graphql_envelop_deprecated_field: false,
          graphql_envelop_execute_resolver: false,
        },
      }),
      responseExtensions(metrics),
      ...((options.plugins ?? []) as Plugin<Record<string, unknown>, ServerContext>[]),
      idempotencyPlugin({
        db,
        log,
        viewerOf: (request) => viewerOf(request),
        requestIdOf: (ctx) => (ctx as ServerContext).requestId,
        clientIpOf: (ctx) => ((ctx as ServerContext).req ? clientIp((ctx as ServerContext).req) : 'unknown'),
      }),
    ],
  });

  async function ready(): Promise<Record<string, 'ok' | 'down'>> {
    const checks: Record<string, 'ok' | 'down'> = {};
    const [database, cache] = await Promise.allSettled([
      db.$queryRaw`SELECT 1`,
      redis ? redis.ping() : Promise.resolve('skip'),
    ]);
    checks.database = database.status === 'fulfilled' ? 'ok' : 'down';
    if (redis) checks.redis = cache.status === 'fulfilled' ? 'ok' : 'down';
    return checks;
  }

  function sendJson(res: http.ServerResponse, status: number, body: unknown) {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(JSON.stringify(body));
  }

  const server = http.createServer((req, res) => {
    const incoming = req.headers['x-request-id'];
    const requestId = typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const pathname = (req.url ?? '/').split('?')[0]!;
    if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (pathname === '/readyz') {
      ready().then(
        (checks) => sendJson(res, Object.values(checks).every((c) => c === 'ok') ? 200 : 503, checks),
        () => sendJson(res, 503, { status: 'down' }),
      );
      return;
    }
    if (req.method === 'GET' && serveGraphiQLAsset(pathname, res)) return;
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) return sendJson(res, 413, { errors: [{ message: 'Request body too large' }] });
    void yoga(req, res, { requestId });
  });

  const sockets = attachWebSockets(server, yoga, {
    path: '/graphql',
    authorize: (authorization) => authenticate(db, authorization, jwtSecret).then(
      (viewer) => viewer.role !== 'ANONYMOUS',
      () => false,
    ),
  });

  return {
    yoga,
    server,
    bus,
    sockets,
    /** Listens and resolves with the base URL (port 0 picks a free port). */
    start(port: number, host = '127.0.0.1'): Promise<string> {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const shownHost = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' ? 'localhost' : host;
          resolve(`http://${shownHost}:${address.port}`);
        });
      });
    },
    /**
     * Stops accepting connections, lets open requests and WebSocket operations
     * finish (up to the timeout), then closes sockets with 1001.
     */
    async stop(): Promise<void> {
      if (!server.listening) return;
      const timeoutMs = options.shutdownTimeoutMs ?? 10_000;
      const http = new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
        server.closeIdleConnections();
      });
      await sockets.close(timeoutMs);
      await http;
    },
  };
}

export type App = ReturnType<typeof buildApp>;
