// The baseline: the same questions answered by a minimal node:http + pg server
// with hand-written SQL, JSON built by PostgreSQL. No auth, no validation, no
// GraphQL: the floor ticketql is compared with. With Redis, it also fans out each
// created ticket to plain WebSocket clients on /live (the baseline of S1).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { WebSocketServer } from 'ws';

const CHANNEL = 'baseline:tickets';

const TICKET_FIELDS = `t.id, t.number, t.title, t.status, t.priority, t.category, t.created_at, t.updated_at`;

export const QUERIES: Record<string, (p: URLSearchParams, body: Record<string, string>) => { text: string; values: unknown[] }> = {
  // Q1: one ticket, 8 fields
  q1: (p) => ({ text: `SELECT row_to_json(x) AS json FROM (SELECT ${TICKET_FIELDS} FROM tickets t WHERE t.id = $1 AND t.team_id = $2) x`, values: [p.get('id'), p.get('team')] }),
  // Q2: a ticket with its last 20 messages and their authors
  q2: (p) => ({
    text: `SELECT json_build_object('id', t.id, 'title', t.title, 'messages', (
             SELECT coalesce(json_agg(m ORDER BY m.created_at), '[]') FROM (
               SELECT m.id, m.body, m.sender, m.created_at, a.name AS agent_name, c.name AS customer_name
               FROM messages m LEFT JOIN agents a ON a.id = m.author_agent_id LEFT JOIN customers c ON c.id = m.author_customer_id
               WHERE m.ticket_id = t.id ORDER BY m.created_at DESC, m.id DESC LIMIT 20) m)) AS json
           FROM tickets t WHERE t.id = $1 AND t.team_id = $2`,
    values: [p.get('id'), p.get('team')],
  }),
  // Q3: 50 tickets by status with customer, assignee and message count
  q3: (p) => ({
    text: `SELECT coalesce(json_agg(x), '[]') AS json FROM (
             SELECT t.id, t.title, t.status, c.name AS customer, a.name AS assignee,
                    (SELECT count(*) FROM messages m WHERE m.ticket_id = t.id) AS message_count
             FROM tickets t LEFT JOIN customers c ON c.id = t.customer_id LEFT JOIN agents a ON a.id = t.assignee_id
             WHERE t.team_id = $1 AND t.status = 'OPEN' ORDER BY t.created_at DESC, t.id DESC LIMIT 50) x`,
    values: [p.get('team')],
  }),
  // Q4: search in title, customer name and email
  q4: (p) => ({
    text: `SELECT coalesce(json_agg(x), '[]') AS json FROM (
             SELECT t.id, t.title FROM tickets t
             WHERE t.team_id = $1 AND (t.title ILIKE $2
               OR t.customer_id IN (SELECT id FROM customers WHERE team_id = $1 AND (name ILIKE $2 OR email ILIKE $2)))
             ORDER BY t.created_at DESC, t.id DESC LIMIT 20) x`,
    values: [p.get('team'), `%${p.get('s')}%`],
  }),
  // M1: add a message
  m1: (_p, b) => ({
    text: `WITH m AS (INSERT INTO messages (id, ticket_id, sender, body) VALUES (gen_random_uuid(), $1, 'AGENT', $2) RETURNING id, body)
           , t AS (UPDATE tickets SET updated_at = now() WHERE id = $1 RETURNING id)
           SELECT row_to_json(m) AS json FROM m`,
    values: [b.ticket, b.body],
  }),
  // M2: create a ticket
  m2: (_p, b) => ({
    text: `WITH s AS (UPDATE teams SET ticket_seq = ticket_seq + 1 WHERE id = $1 RETURNING ticket_seq)
           INSERT INTO tickets (id, team_id, number, title, updated_at) SELECT gen_random_uuid(), $1, s.ticket_seq, $2, now() FROM s
           RETURNING json_build_object('id', id, 'number', number, 'title', title) AS json`,
    values: [b.team, b.title],
  }),
};

export async function startBaseline(databaseUrl: string, poolSize: number, redisUrl?: string) {
  const pool = new pg.Pool({ connectionString: databaseUrl, max: poolSize });
  const publisher = redisUrl ? new Redis(redisUrl) : undefined;
  const subscriber = redisUrl ? new Redis(redisUrl) : undefined;
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const make = QUERIES[url.pathname.slice(1)];
    if (!make) return void res.writeHead(404).end();
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c));
    req.on('end', () => {
      pool.query<{ json: unknown }>(make(url.searchParams, raw ? JSON.parse(raw) : {})).then(
        (r) => {
          const data = r.rows[0]?.json ?? null;
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ data }));
          if (publisher && url.pathname === '/m2') void publisher.publish(CHANNEL, JSON.stringify({ ticketId: (data as { id: string }).id }));
        },
        (err: Error) => res.writeHead(500).end(err.message),
      );
    });
  });
  if (subscriber) {
    const wss = new WebSocketServer({ server, path: '/live' });
    await subscriber.subscribe(CHANNEL);
    subscriber.on('message', (_channel: string, message: string) => {
      for (const socket of wss.clients) socket.send(message);
    });
  }
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      await new Promise((r) => server.close(r));
      await pool.end();
      publisher?.disconnect();
      subscriber?.disconnect();
    },
  };
}
