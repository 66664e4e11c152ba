// Idempotency-Key on mutation requests: the first response is kept for 24 hours
// per credential; the same key with the same request replays it (no second
// write, event, email or webhook); with a different request it is a CONFLICT.
// A second request arriving while the first runs waits for its response.
import { createHash } from 'node:crypto';
import { getOperationAST, parse, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Viewer } from '../auth/viewer.js';
import type { Db } from '../db.js';
import { conflict } from '../errors.js';
import { maskError } from './error-masking.js';
import type { Logger } from '../logger.js';
import { Prisma } from '../generated/prisma/client.js';

const TTL_MS = 24 * 3600_000;
/** A first request that has not answered after this long is taken to have died. */
const ABANDONED_MS = 60_000;
const WAIT_MS = 10_000;
const KEY_RE = /^[\x21-\x7e]{1,255}$/;
/** Answers that are not kept for the key: the client is expected to try again. */
const RETRYABLE = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

type Claim = { scope: string; key: string };

/** API key secrets and webhook signing secrets: shown once, so never kept in a stored answer. */
const SECRET = /^(sk_(live|test)_|whsec_)/;

/** Every string in a JSON value, with the key it stands under. */
function stringsOf(value: unknown, key = '', found: Array<[string, string]> = []): Array<[string, string]> {
  if (typeof value === 'string') found.push([key, value]);
  else if (Array.isArray(value)) for (const item of value) stringsOf(item, key, found);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) stringsOf(v, k, found);
  return found;
}

/**
 * The answer as it is kept for replays. An answer that carries a secret is kept as a
 * CONFLICT that names what was created instead: a replay must not show the secret again,
 * and the secret must not sit in the table for 24 hours.
 */
function withoutSecrets(result: ExecutionResult): ExecutionResult {
  // Found by their form, whatever field (or alias) carries them.
  const strings = stringsOf(result.data);
  if (!strings.some(([, value]) => SECRET.test(value))) return result;
  const created = strings.filter(([key, value]) => key === 'id' && !SECRET.test(value)).map(([, value]) => value);
  return {
    data: null,
    errors: [
      conflict(
        `The first request with this Idempotency-Key created a secret, which is shown only in its first answer` +
          (created.length ? `; it created ${created.join(', ')}` : ''),
      ),
    ],
  };
}

function isMutation(query: string | undefined, operationName: string | undefined): boolean {
  if (!query) return false;
  try {
    return getOperationAST(parse(query), operationName)?.operation === 'mutation';
  } catch {
    return false; // yoga answers the syntax error itself
  }
}

/** Whose key it is: the credential (one team's keys never see another's answers). */
function scopeOf(viewer: Viewer, clientIp: string): string {
  const principal = viewer.apiKeyId ?? viewer.agentId ?? viewer.customerId;
  return principal ? `${viewer.teamId}:${principal}` : `anonymous:${clientIp}`;
}

export function idempotencyPlugin(options: {
  db: Db;
  log: Logger;
  viewerOf: (request: Request) => Promise<Viewer>;
  requestIdOf: (serverContext: unknown) => string;
  clientIpOf: (serverContext: unknown) => string;
}): Plugin {
  const { db } = options;
  const claims = new WeakMap<Request, Claim>();
  const replayed = new WeakSet<Request>();

  /** Inserts the claim, or returns the record that holds the key. */
  async function claim(c: Claim, requestHash: string) {
    const now = Date.now();
    // Expired records, and first requests that died, give the key back.
    await db.idempotencyRecord.deleteMany({
      where: { ...c, OR: [{ expiresAt: { lt: new Date(now) } }, { response: { equals: Prisma.DbNull }, createdAt: { lt: new Date(now - ABANDONED_MS) } }] },
    });
    const inserted = await db.idempotencyRecord.createMany({
      data: [{ ...c, requestHash, expiresAt: new Date(now + TTL_MS) }],
      skipDuplicates: true,
    });
    return inserted.count === 1 ? undefined : db.idempotencyRecord.findUnique({ where: { scope_key: c } });
  }

  async function waitForResponse(c: Claim) {
    const until = Date.now() + WAIT_MS;
    while (Date.now() < until) {
      const record = await db.idempotencyRecord.findUnique({ where: { scope_key: c } });
      if (!record || record.response !== null) return record;
      await new Promise((r) => setTimeout(r, 100));
    }
    return undefined;
  }

  return {
    async onParams({ request, params, setResult, context }) {
      const key = request.headers.get('idempotency-key');
      if (!key || !isMutation(params.query, params.operationName ?? undefined)) return;
      if (!KEY_RE.test(key)) {
        setResult({ errors: [conflict('Idempotency-Key must be 1–255 visible ASCII characters')] });
        return;
      }
      let viewer: Viewer;
      try {
        viewer = await options.viewerOf(request);
      } catch {
        return; // the operation itself answers UNAUTHENTICATED
      }
      const c = { scope: scopeOf(viewer, options.clientIpOf(context)), key };
      const requestHash = createHash('sha256')
        .update(JSON.stringify([params.query, params.operationName ?? null, params.variables ?? {}]))
        .digest('hex');
      try {
        let record = await claim(c, requestHash);
        if (!record) {
          claims.set(request, c);
          return;
        }
        if (record.requestHash !== requestHash) {
          setResult({ errors: [conflict('This Idempotency-Key was used for a different request')] });
          return;
        }
        if (record.response === null) record = await waitForResponse(c);
        if (!record?.response) {
          setResult({ errors: [conflict('A request with this Idempotency-Key is still in progress')] });
          return;
        }
        replayed.add(request);
        setResult(record.response as ExecutionResult);
      } catch (err) {
        setResult({ errors: [maskError(err, options.requestIdOf(context), options.log)] });
      }
    },

    async onResultProcess({ request, result }) {
      const c = claims.get(request);
      if (!c || Array.isArray(result) || Symbol.asyncIterator in result) return;
      claims.delete(request);
      const retryable = result.errors?.some((e) => RETRYABLE.has(e.extensions?.code as string));
      // An anonymous caller's refused request keeps no row: fresh keys must not let
      // anyone fill the table with refusals.
      const refusedAnonymous = c.scope.startsWith('anonymous:') && !!result.errors?.length;
      if (retryable || refusedAnonymous) {
        // A failure of ours, or the database was unavailable: nothing was written,
        // and a retry with the same key must run the mutation rather than replay this.
        await db.idempotencyRecord.deleteMany({ where: c });
        return;
      }
      const { extensions: _requestSpecific, ...stored } = result;
      await db.idempotencyRecord.update({
        where: { scope_key: c },
        data: { response: JSON.parse(JSON.stringify(withoutSecrets(stored))) as Prisma.InputJsonValue },
      });
    },

    onResponse({ request, response }) {
      if (replayed.has(request)) response.headers.set('idempotent-replayed', 'true');
    },
  };
}
