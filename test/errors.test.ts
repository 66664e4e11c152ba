// Unexpected errors: the client sees a masked error with the request id, and the
// log has the whole error under the same id, over HTTP and WebSocket alike.
// Requests that are not GraphQL requests: an HTTP status and a code of their own.
import { pino } from 'pino';
import { afterAll, describe, expect, test } from 'vitest';
import { buildApp } from '../src/app.js';
import { JWT_SECRET, testApp } from './support/app.js';
import { refuseTicketInsert } from './support/faults.js';
import { createTeam } from './support/fixtures.js';
import { disposeLive, subscribe, wsClient } from './support/live.js';

type LogLine = { level: number; msg: string; requestId?: string; err?: { message: string } | string };
const lines: LogLine[] = [];
const log = pino({ level: 'info', base: undefined }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
const app = buildApp({ db: testApp().db, log, jwtSecret: JWT_SECRET });
const base = await app.start(0);

afterAll(async () => {
  disposeLive();
  await app.stop();
});

const CREATE = 'mutation($title: String!) { createTicket(input: { title: $title, body: "hi" }) { ticket { id } } }';
const SECRET_DETAIL = 'disk sector 7 unreadable in /var/lib/postgresql';

/** A team whose ticket titled `title` PostgreSQL refuses with `sqlstate` until restore(). */
async function failingInsert(sqlstate: string, message: string) {
  const t = await createTeam();
  const title = `fails-${t.team.id}`;
  const restore = await refuseTicketInsert(testApp().db, title, sqlstate, message);
  return { t, title, restore };
}

/** createTicket over graphql-ws as the team's key, against a refused insert: the errors sent back. */
async function createOverWebSocket(sqlstate: string, message: string) {
  const { t, title, restore } = await failingInsert(sqlstate, message);
  try {
    const op = subscribe(wsClient(base, t.keys.write), CREATE, { title });
    await op.completed;
    return op.received[0]?.errors ?? [];
  } finally {
    await restore();
  }
}

const loggedFor = (requestId: string) => lines.filter((l) => l.requestId === requestId);

describe('unexpected errors', () => {
  test('over HTTP: masked as INTERNAL_SERVER_ERROR with the request id, logged in full under it, nothing written', async () => {
    // PostgreSQL fails the insert with an error the server has no meaning for.
    const { t, title, restore } = await failingInsert('XX000', SECRET_DETAIL);
    try {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.write}`, 'x-request-id': 'req-unexpected-http' },
        body: JSON.stringify({ query: CREATE, variables: { title } }),
      });
      const text = await res.text();
      expect(text).not.toContain('disk sector');
      expect(JSON.parse(text)).toEqual({
        data: null,
        errors: [
          {
            message: 'Unexpected error',
            locations: [{ line: 1, column: 29 }],
            path: ['createTicket'],
            extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: 'req-unexpected-http' },
          },
        ],
        extensions: { requestId: 'req-unexpected-http' },
      });
    } finally {
      await restore();
    }
    const logged = loggedFor('req-unexpected-http');
    expect(logged.map((l) => [l.level, l.msg])).toEqual([[50, 'unexpected error']]);
    expect(JSON.stringify(logged[0]!.err)).toContain(SECRET_DETAIL);
    expect(await testApp().db.ticket.count({ where: { teamId: t.team.id } })).toBe(0);
  });

  test('over WebSocket: the same masking, with the operation\'s own request id in the error and the log', async () => {
    const errors = await createOverWebSocket('XX000', SECRET_DETAIL);
    expect(errors.map((e) => e.message)).toEqual(['Unexpected error']);
    const { code, requestId } = errors[0]!.extensions as { code: string; requestId: string };
    expect(code).toBe('INTERNAL_SERVER_ERROR');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const logged = loggedFor(requestId);
    expect(logged.map((l) => [l.level, l.msg])).toEqual([[50, 'unexpected error']]);
    expect(JSON.stringify(logged[0]!.err)).toContain(SECRET_DETAIL);
  });

  test('over WebSocket: the database going away is SERVICE_UNAVAILABLE with the request id, logged as a warning', async () => {
    const errors = await createOverWebSocket('57P03', 'the database system is shutting down');
    expect(errors.map((e) => e.message)).toEqual(['The database is unavailable; try again shortly']);
    const { code, requestId } = errors[0]!.extensions as { code: string; requestId: string };
    expect(code).toBe('SERVICE_UNAVAILABLE');
    expect(loggedFor(requestId).map((l) => [l.level, l.msg])).toEqual([[40, 'database unavailable']]);
  });
});

describe('requests that are not GraphQL requests: a status and a code, no execution', () => {
  const GRAPHQL_RESPONSE = 'application/graphql-response+json';
  async function send(init: RequestInit & { path?: string }) {
    const res = await fetch(`${base}${init.path ?? '/graphql'}`, { ...init, headers: { accept: GRAPHQL_RESPONSE, ...(init.headers as Record<string, string>) } });
    const text = await res.text();
    const body = JSON.parse(text) as { data?: unknown; errors: Array<{ message: string; extensions: Record<string, unknown> }>; extensions?: { requestId?: string } };
    return { status: res.status, body, error: body.errors[0]!, requestId: res.headers.get('x-request-id') };
  }
  const json = { 'content-type': 'application/json' };

  test.each([
    ['a body that is not JSON', { method: 'POST', headers: json, body: '{"query": ' }, 400, 'POST body sent invalid JSON.'],
    ['no query', { method: 'POST', headers: json, body: '{"variables": {}}' }, 400, 'Must provide query string.'],
    ['a query that is not a string', { method: 'POST', headers: json, body: '{"query": 5}' }, 400, 'Expected "query" param to be a string, but given number.'],
    ['an operationName that names no operation', { method: 'POST', headers: json, body: '{"query": "query A { __typename }", "operationName": "B"}' }, 400, 'Could not determine what operation to execute.'],
    ['a mutation over GET', { path: `/graphql?query=${encodeURIComponent('mutation { createTicket(input: { title: "x" }) { ticketId } }')}`, headers: { 'x-graphql-csrf': '1' } }, 405, 'Can only perform a mutation operation from a POST request.'],
    ['another method than GET and POST', { method: 'PUT', headers: json, body: '{"query": "{ __typename }"}' }, 405, 'GraphQL only supports GET and POST requests.'],
    ['a body of an unsupported type', { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<query/>' }, 415, 'Unsupported Content-Type: send application/json (or a GET request with the query in the URL)'],
  ] as const)('%s: BAD_REQUEST', async (_what, init, status, message) => {
    const res = await send(init as RequestInit & { path?: string });
    expect(res.status).toBe(status);
    expect(res.body.data).toBeUndefined();
    expect(res.error).toMatchObject({ message, extensions: { code: 'BAD_REQUEST' } });
    expect(res.body.extensions?.requestId).toBe(res.requestId);
    expect(loggedFor(res.requestId!)).toEqual([]);
  });

  test('a media type the server cannot answer in: 406 with BAD_REQUEST', async () => {
    const res = await send({ method: 'POST', headers: { ...json, accept: 'application/xml' }, body: '{"query": "{ __typename }"}' });
    expect(res.status).toBe(406);
    expect(res.error.extensions.code).toBe('BAD_REQUEST');
  });

  test('a mutation over GET writes nothing', async () => {
    const t = await createTeam();
    const query = encodeURIComponent('mutation { createTicket(input: { title: "Over GET" }) { ticketId } }');
    const res = await send({ path: `/graphql?query=${query}`, headers: { 'x-graphql-csrf': '1', authorization: `Bearer ${t.keys.write}` } });
    expect([res.status, res.error.extensions.code]).toEqual([405, 'BAD_REQUEST']);
    expect(await testApp().db.ticket.count({ where: { teamId: t.team.id } })).toBe(0);
  });

  test('a browser form post, or a GET without the CSRF header: 403 CSRF_REFUSED', async () => {
    const form = await send({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'query=%7B__typename%7D' });
    expect(form.status).toBe(403);
    expect(form.error).toEqual({
      message: 'Refused as a possible cross-site request: send a JSON body (Content-Type: application/json), or the x-graphql-csrf header with any value',
      extensions: { code: 'CSRF_REFUSED' },
    });
    const get = await send({ path: '/graphql?query=%7B__typename%7D' });
    expect([get.status, get.error.extensions.code]).toEqual([403, 'CSRF_REFUSED']);
  });

  test('a body over the limit: 413 REQUEST_ENTITY_TOO_LARGE, announced by Content-Length or not', async () => {
    const big = JSON.stringify({ query: '{ __typename }', variables: { pad: 'x'.repeat(1_100_000) } });
    const announced = await send({ method: 'POST', headers: json, body: big });
    expect(announced.status).toBe(413);
    expect(announced.error).toEqual({ message: 'Request body too large: at most 1048576 bytes', extensions: { code: 'REQUEST_ENTITY_TOO_LARGE' } });
    expect(announced.body.extensions?.requestId).toBe(announced.requestId);
    const chunks = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = await send({ method: 'POST', headers: json, body: chunks, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(streamed.error.extensions.code).toBe('REQUEST_ENTITY_TOO_LARGE');
  });

  test('GraphQL documents that fail keep their codes: GRAPHQL_PARSE_FAILED, GRAPHQL_VALIDATION_FAILED', async () => {
    const syntax = await send({ method: 'POST', headers: json, body: JSON.stringify({ query: '{ viewer { role }' }) });
    expect([syntax.status, syntax.error.extensions.code]).toEqual([400, 'GRAPHQL_PARSE_FAILED']);
    const invalid = await send({ method: 'POST', headers: json, body: JSON.stringify({ query: '{ viewer { nope } }' }) });
    expect([invalid.status, invalid.error.extensions.code]).toEqual([400, 'GRAPHQL_VALIDATION_FAILED']);
  });
});
