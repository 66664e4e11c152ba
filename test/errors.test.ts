// Unexpected errors: the client sees a masked error with the request id, and the
// log has the whole error under the same id, over HTTP and WebSocket alike.
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
