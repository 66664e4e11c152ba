// Persisted operations. `only`: the server runs nothing but documents of an
// allow-list (a manifest { sha256: document }, e.g. the persisted-documents.json
// of GraphQL Code Generator's client preset), sent by hash. `apq` (default): the
// Automatic Persisted Queries protocol — clients send a hash, and the document
// once when the server does not know it yet. `off`: documents only.
//
// Written here rather than with @graphql-yoga/plugin-apq, whose current release
// requires an older @graphql-tools/utils than graphql-yoga 5.24 brings.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

export type PersistedMode = 'off' | 'apq' | 'only';

const MAX_REMEMBERED = 5000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const error = (code: string, message: string, status = 400) =>
  new GraphQLError(message, { extensions: { code, http: { status } } });

export function loadManifest(file: string): Map<string, string> {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  // Keys may carry the algorithm, as codegen writes them ("sha256:…").
  return new Map(Object.entries(parsed).map(([hash, document]) => [hash.replace(/^sha256:/, ''), document]));
}

export function persistedOperationsPlugin(mode: PersistedMode, manifest: Map<string, string> = new Map()): Plugin {
  // APQ documents this process has seen, oldest dropped first.
  const remembered = new Map<string, string>();
  return {
    onParams({ params, setParams, setResult: setErrorResult }) {
      if (mode === 'off') return;
      // yoga still runs its own parameter checks after a result is set; a
      // placeholder query keeps them from answering "Must provide query string".
      const setResult = (result: { errors: GraphQLError[] }) => {
        setParams({ ...params, query: '{ __typename }' });
        setErrorResult(result);
      };
      const extensions = params.extensions as { persistedQuery?: { version?: number; sha256Hash?: string } } | undefined;
      const hash = extensions?.persistedQuery?.sha256Hash ?? (params as { documentId?: string }).documentId?.replace(/^sha256:/, '');
      if (mode === 'only') {
        const document = hash ? manifest.get(hash) : undefined;
        if (!document) {
          setResult({ errors: [error('PERSISTED_QUERY_NOT_FOUND', 'This server runs persisted operations only; this one is not in its allow-list')] });
          return;
        }
        setParams({ ...params, query: document });
        return;
      }
      if (!hash) return;
      if (params.query) {
        if (sha256(params.query) !== hash) {
          setResult({ errors: [error('BAD_USER_INPUT', 'persistedQuery.sha256Hash does not match the query')] });
          return;
        }
        remembered.delete(hash);
        remembered.set(hash, params.query);
        if (remembered.size > MAX_REMEMBERED) remembered.delete(remembered.keys().next().value!);
        return;
      }
      const document = manifest.get(hash) ?? remembered.get(hash);
      if (!document) {
        // The APQ protocol: the client sends the document with the hash next.
        setResult({ errors: [error('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound', 200)] });
        return;
      }
      setParams({ ...params, query: document });
    },
  };
}
