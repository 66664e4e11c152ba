// The HTTP server in front of yoga: request ids, /healthz, /readyz, GraphiQL's
// assets and the body limit; everything else is GraphQL.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveGraphiQLAsset } from './graphiql.js';
import type { Checks } from './health.js';

const REQUEST_ID_RE = /^[\w.:-]{1,128}$/;

export type HttpServerOptions = {
  /** yoga's node handler. */
  graphql(req: http.IncomingMessage, res: http.ServerResponse, context: { requestId: string }): unknown;
  ready(): Promise<Checks>;
  maxBodyBytes: number;
  /** Largest multipart body (files and their fields), when multipart requests carry files. @default maxBodyBytes */
  maxMultipartBytes?: number;
  /** Other routes (attachments): true when it took the request. */
  routes?(req: http.IncomingMessage, res: http.ServerResponse, requestId: string): boolean;
  /** Time a client has to send a whole request; a body sent byte by byte is cut off after it. */
  requestTimeoutMs: number;
  /** Time an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** When set, /metrics answers only requests bearing it. */
  metricsToken?: string;
};

/** Constant-time comparison of a request's bearer token with the expected one. */
function bears(req: http.IncomingMessage, token: string): boolean {
  const given = Buffer.from(req.headers.authorization ?? '');
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

/** A valid incoming X-Request-Id is kept; otherwise a new one is made. */
function requestIdOf(req: http.IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
}

export function createHttpServer(options: HttpServerOptions): http.Server {
  // Node checks the request and header timeouts on this interval (30 s by default).
  const connectionsCheckingInterval = Math.min(5_000, Math.ceil(options.requestTimeoutMs / 2));
  const server = http.createServer({ connectionsCheckingInterval }, (req, res) => {
    const requestId = requestIdOf(req);
    res.setHeader('X-Request-Id', requestId);
    const pathname = (req.url ?? '/').split('?')[0]!;
    if (pathname === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (pathname === '/readyz') {
      options.ready().then(
        (checks) => sendJson(res, Object.values(checks).every((c) => c === 'ok') ? 200 : 503, checks),
        () => sendJson(res, 503, { status: 'down' }),
      );
      return;
    }
    if (pathname === '/metrics' && options.metricsToken && !bears(req, options.metricsToken)) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      return sendJson(res, 401, { errors: [{ message: 'A metrics token is required', extensions: { code: 'UNAUTHENTICATED' } }] });
    }
    if (req.method === 'GET' && serveGraphiQLAsset(pathname, res)) return;
    if (options.routes?.(req, res, requestId)) return;
    // Bodies sent without Content-Length are cut off by yoga's plugins (body-limit, uploads).
    const multipart = /^multipart\/form-data/i.test(req.headers['content-type'] ?? '');
    const limit = multipart ? (options.maxMultipartBytes ?? options.maxBodyBytes) : options.maxBodyBytes;
    if (Number(req.headers['content-length'] ?? 0) > limit) {
      return sendJson(res, 413, {
        errors: [{ message: `Request body too large: at most ${limit} bytes`, extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } }],
        extensions: { requestId },
      });
    }
    void options.graphql(req, res, { requestId });
  });
  server.requestTimeout = options.requestTimeoutMs;
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  // Headers must come within the request timeout, and after the keep-alive timeout,
  // so that a connection being reused is not cut off while its next request arrives.
  server.headersTimeout = Math.min(options.requestTimeoutMs, Math.max(10_000, options.keepAliveTimeoutMs + 1_000));
  return server;
}

/** Listens and resolves with the base URL (port 0 picks a free port). */
export function listen(server: http.Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const { port: bound } = server.address() as AddressInfo;
      const shownHost = host === '0.0.0.0' || host === '::' || host === '127.0.0.1' ? 'localhost' : host;
      resolve(`http://${shownHost}:${bound}`);
    });
  });
}

/** Stops accepting connections and resolves once open requests are done (or cut off after `timeoutMs`). */
export function closeGracefully(server: http.Server, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}
