// A credential that was sent and refused (unknown, revoked, expired, badly signed
// or malformed) fails the whole HTTP request before execution. It answers 401 with
// WWW-Authenticate, so clients that refresh a token on 401 do; over SSE it answers
// before any stream starts. Requests without a credential are not refused: they run
// as ANONYMOUS (createTicket for public teams) and other fields answer UNAUTHENTICATED
// within a 200 response. WebSockets refuse a bad credential at connection_init (4403).
import type { ExecutionResult } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Viewer } from '../auth/viewer.js';

const GRAPHQL_RESPONSE = 'application/graphql-response+json';

/** The JSON media type to answer in: application/json only for clients that ask for it alone. */
function jsonMediaTypeFor(request: Request): string {
  const accepted = (request.headers.get('accept') ?? '*/*').split(',').map((part) => part.split(';')[0]!.trim().toLowerCase());
  if (accepted.includes('application/json') && !accepted.includes(GRAPHQL_RESPONSE) && !accepted.includes('*/*')) return 'application/json';
  return GRAPHQL_RESPONSE;
}

/** RFC 6750: `error="invalid_token"` for a refused bearer credential, none for another scheme. */
function challengeFor(authorization: string): string {
  return /^Bearer\s/i.test(authorization) ? 'Bearer realm="ticketql", error="invalid_token"' : 'Bearer realm="ticketql"';
}

export function refusedCredentialPlugin(viewerOf: (request: Request) => Promise<Viewer>): Plugin {
  const refused = (request: Request) => viewerOf(request).then(() => false, () => true);
  return {
    async onResultProcess({ request, result, setResultProcessor }) {
      const authorization = request.headers.get('authorization');
      if (!authorization || Array.isArray(result) || isAsyncIterable(result)) return;
      // Execution always answers `data`; without it the request failed before.
      const single = result as ExecutionResult;
      if ('data' in single || !single.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED')) return;
      if (!(await refused(request))) return;
      const mediaType = jsonMediaTypeFor(request);
      setResultProcessor(
        (final, fetchAPI) =>
          new fetchAPI.Response(JSON.stringify(final), {
            status: 401,
            headers: { 'content-type': `${mediaType}; charset=utf-8`, 'www-authenticate': challengeFor(authorization) },
          }),
        mediaType,
      );
    },
  };
}
