// Persisted operations. `only`: the server runs nothing but documents of an
// allow-list (a manifest { sha256: document }, e.g. the persisted-documents.json
// of GraphQL Code Generator's client preset), sent by hash. `apq` (default): the
// Automatic Persisted Queries protocol — clients send a hash, and the document
// once when the server does not know it yet. `off`: documents only.
// The same policy applies over HTTP, SSE and graphql-ws.
//
// Written here rather than with @graphql-yoga/plugin-apq, whose current release
// requires an older @graphql-tools/utils than graphql-yoga 5.24 brings.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { LRUCache } from 'lru-cache';
import type { Context } from '../context.js';

export type PersistedMode = 'off' | 'apq' | 'only';

/** What a client sent: the parts of a GraphQL request this policy reads. */
export type OperationParams = { query?: string; extensions?: Record<string, unknown>; documentId?: string };

/** APQ documents kept per process, in bytes of text, least recently used dropped first. */
const REMEMBERED_BYTES = 8 * 1024 * 1024;
/** Larger APQ documents run but are not kept. */
const REMEMBERED_DOCUMENT_BYTES = 64 * 1024;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const error = (code: string, message: string, status = 400) =>
  new GraphQLError(message, { extensions: { code, http: { status } } });

export function loadManifest(file: string): Map<string, string> {
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
  // Keys may carry the algorithm, as codegen writes them ("sha256:…").
  return new Map(Object.entries(parsed).map(([hash, document]) => [hash.replace(/^sha256:/, ''), document]));
}

/** The document to run, an APQ registration to keep once the caller is known, or the refusal. */
type Lookup = { query?: string; register?: { hash: string; query: string } } | { error: GraphQLError };

export function createPersistedOperations(mode: PersistedMode, manifest: Map<string, string> = new Map()) {
  const remembered = new LRUCache<string, string>({
    maxSize: REMEMBERED_BYTES,
    maxEntrySize: REMEMBERED_DOCUMENT_BYTES,
    sizeCalculation: (document) => Buffer.byteLength(document),
  });

  function lookup(params: OperationParams): Lookup {
    if (mode === 'off') return { query: params.query };
    const persisted = (params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined)?.persistedQuery;
    const given = persisted?.sha256Hash ?? params.documentId;
    const hash = typeof given === 'string' ? given.replace(/^sha256:/, '') : undefined;
    if (mode === 'only') {
      const document = hash ? manifest.get(hash) : undefined;
      if (!document) return { error: error('PERSISTED_QUERY_NOT_FOUND', 'This server runs persisted operations only; this one is not in its allow-list') };
      return { query: document };
    }
    if (!hash) return { query: params.query };
    if (params.query) {
      if (sha256(params.query) !== hash) return { error: error('BAD_USER_INPUT', 'persistedQuery.sha256Hash does not match the query') };
      return { query: params.query, register: { hash, query: params.query } };
    }
    const document = manifest.get(hash) ?? remembered.get(hash);
    // The APQ protocol: the client sends the document with the hash next.
    if (!document) return { error: error('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound', 200) };
    return { query: document };
  }

  /** Keeps an APQ document for later requests by hash; anonymous callers' are not kept. */
  function register(registration: { hash: string; query: string } | undefined, viewer: Context['viewer']) {
    if (registration && viewer.role !== 'ANONYMOUS') remembered.set(registration.hash, registration.query);
  }

  const pending = new WeakMap<Request, { hash: string; query: string }>();
  const plugin: Plugin = {
    onParams({ params, request, setParams, setResult }) {
      if (mode === 'off') return;
      const found = lookup(params as OperationParams);
      if ('error' in found) {
        // yoga still runs its own parameter checks after a result is set; a
        // placeholder query keeps them from answering "Must provide query string".
        setParams({ ...params, query: '{ __typename }' });
        setResult({ errors: [found.error] });
        return;
      }
      if (found.register) pending.set(request, found.register);
      if (found.query !== params.query) setParams({ ...params, query: found.query });
    },
    onExecute({ args }) {
      const ctx = args.contextValue as unknown as Context & { request?: Request };
      if (ctx.request) register(pending.get(ctx.request), ctx.viewer);
    },
    onSubscribe({ args }) {
      const ctx = args.contextValue as unknown as Context & { request?: Request };
      if (ctx.request) register(pending.get(ctx.request), ctx.viewer);
    },
  };

  return { plugin, lookup, register };
}

export type PersistedOperations = ReturnType<typeof createPersistedOperations>;
