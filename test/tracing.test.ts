import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { buildApp } from '../src/app.js';
import { createDb } from '../src/db.js';
import { createLogger } from '../src/logger.js';
import { createTracing } from '../src/platform/tracing.js';
import { JWT_SECRET } from './support/app.js';
import { createTeam } from './support/fixtures.js';

describe('OpenTelemetry', () => {
  test('with an OTLP endpoint, operations become spans; variables are not recorded', async () => {
    const received: Array<{ path: string; body: string }> = [];
    const collector = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString('utf8')));
      req.on('end', () => {
        received.push({ path: req.url ?? '', body });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
    const tracing = createTracing(`http://127.0.0.1:${(collector.address() as AddressInfo).port}`);
    const db = createDb(inject('databaseUrl'), 2);
    const app = buildApp({ db, log: createLogger('silent'), jwtSecret: JWT_SECRET, plugins: [tracing.plugin] });
    const t = await createTeam();
    try {
      const res = await app.yoga.fetch(
        'http://ticketql.test/graphql',
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.read}` },
          body: JSON.stringify({ query: 'query TracedTickets($s: String) { tickets(filter: { search: $s }) { totalCount } }', variables: { s: 'TOP-SECRET-SEARCH' } }),
        },
        { requestId: 'trace' },
      );
      expect(((await res.json()) as { data: unknown }).data).toEqual({ tickets: { totalCount: 0 } });
      await tracing.shutdown(); // flushes
      expect(received.map((r) => r.path)).toContain('/v1/traces');
      const all = received.map((r) => r.body).join('\n');
      expect(all).toContain('TracedTickets');
      expect(all).toContain('ticketql');
      expect(all).not.toContain('TOP-SECRET-SEARCH');
    } finally {
      await db.$disconnect();
      collector.close();
    }
  });
});
