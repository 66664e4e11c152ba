import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, test } from 'vitest';
import { createTracing } from '../src/platform/tracing.js';
import { otherApp } from './support/app.js';
import { createTeam } from './support/fixtures.js';
import { leftover } from './support/leftovers.js';

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
    leftover('the OTLP collector', () => new Promise((r) => collector.close(r)));
    const tracing = createTracing(`http://127.0.0.1:${(collector.address() as AddressInfo).port}`);
    const { app } = otherApp({ plugins: [tracing.plugin] });
    const t = await createTeam();
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
  });
});
