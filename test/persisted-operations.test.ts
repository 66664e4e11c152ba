import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, test } from 'vitest';
import type { App } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { loadManifest } from '../src/plugins/persisted-operations.js';
import { otherApp, testApp } from './support/app.js';
import { createTeam, type TeamFixture } from './support/fixtures.js';

const manifestFile = fileURLToPath(new URL('./generated/persisted-documents.json', import.meta.url));
const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

let t: TeamFixture;
beforeAll(async () => {
  t = await createTeam();
});

async function send(app: App, body: Record<string, unknown>) {
  const res = await app.yoga.fetch(
    'http://ticketql.test/graphql',
    { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${t.keys.read}` }, body: JSON.stringify(body) },
    { requestId: 'p' },
  );
  return (await res.json()) as { data?: any; errors?: Array<{ message: string; extensions: { code: string } }> };
}

describe('PERSISTED_OPERATIONS=only', () => {
  const manifest = loadManifest(manifestFile);
  const { app } = otherApp({ persisted: { mode: 'only', manifest } });

  test('runs the repository’s own operations by hash, and nothing else', async () => {
    const [hash, document] = [...manifest].find(([, doc]) => doc.startsWith('query CliViewer'))!;
    expect(sha256(document)).toBe(hash);
    const ok = await send(app, { extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
    expect(ok.data).toEqual({ viewer: { role: 'AGENT', scopes: ['READ'], team: { slug: t.team.slug } } });
    const byDocumentId = await send(app, { documentId: `sha256:${hash}` });
    expect(byDocumentId.data).toEqual(ok.data);

    const adHoc = await send(app, { query: '{ viewer { role } }' });
    expect(adHoc.errors![0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const unknown = await send(app, { extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ viewer { role } }') } }, query: '{ viewer { role } }' });
    expect(unknown.errors![0]!.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
  });

  test('needs its allow-list file', () => {
    expect(() => loadConfig({ PERSISTED_OPERATIONS: 'only' })).toThrow(/PERSISTED_OPERATIONS_FILE/);
  });
});

describe('Automatic Persisted Queries (default)', () => {
  test('hash first; the document once when unknown; then the hash alone', async () => {
    const { app } = testApp();
    const query = '{ viewer { role } }';
    const persistedQuery = { version: 1, sha256Hash: sha256(query) };
    const miss = await send(app, { extensions: { persistedQuery } });
    expect(miss.errors![0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    expect((await send(app, { query, extensions: { persistedQuery } })).data).toEqual({ viewer: { role: 'AGENT' } });
    expect((await send(app, { extensions: { persistedQuery } })).data).toEqual({ viewer: { role: 'AGENT' } });
    const wrong = await send(app, { query: '{ viewer { scopes } }', extensions: { persistedQuery } });
    expect(wrong.errors![0]!.extensions.code).toBe('BAD_USER_INPUT');
  });
});
