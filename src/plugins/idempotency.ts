// Idempotency-Key on mutation requests, per credential for 24 hours. The key's use is
// recorded by each change() in the mutation's own transaction (domain/idempotency.ts);
// this plugin finds the key's row before execution and, once the answer is known,
// stores it. The same key with the same request then answers as the first time, with
// no second write, event, email or webhook: the stored answer when there is one, else a
// re-run of the request in which every change that committed answers what it returned
// (its payload read back with the caller's visibility). With a different request the
// key is a CONFLICT. Either way the answer carries `Idempotent-Replayed: true`.
import { createHash } from 'node:crypto';
import { getOperationAST, parse, type ExecutionResult, type GraphQLSchema } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Viewer } from '../auth/viewer.js';
import type { Db } from '../db.js';
import { DIFFERENT_REQUEST, findRecord, SECRET, type IdempotencyClaim, type Outcomes } from '../domain/idempotency.js';
import { conflict } from '../errors.js';
import { maskError } from './error-masking.js';
import type { Logger } from '../logger.js';
import { Prisma } from '../generated/prisma/client.js';

const TTL_MS = 24 * 3600_000;
const KEY_RE = /^[\x21-\x7e]{1,255}$/;
/** Answers that are not kept for the key: the client is expected to try again. */
const RETRYABLE = new Set(['INTERNAL_SERVER_ERROR', 'SERVICE_UNAVAILABLE']);

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

/**
 * Lets change() know which mutation field it runs for: the key's row keeps each field's
 * outcomes apart. Root mutation fields run one after another, so one slot per request
 * is enough. Applied once to the schema the server executes.
 */
export function keyedMutationFields(schema: GraphQLSchema): GraphQLSchema {
  for (const field of Object.values(schema.getMutationType()?.getFields() ?? {})) {
    const resolve = field.resolve;
    if (!resolve || wrapped.has(resolve)) continue;
    const keyed: typeof resolve = async (root, args, context: { idempotency?: IdempotencyClaim }, info) => {
      const claim = context.idempotency;
      if (!claim) return resolve(root, args, context, info);
      claim.field = String(info.path.key);
      try {
        return await resolve(root, args, context, info);
      } finally {
        claim.field = undefined;
      }
    };
    wrapped.add(keyed);
    field.resolve = keyed;
  }
  return schema;
}
const wrapped = new WeakSet<object>();

export function idempotencyPlugin(options: {
  db: Db;
  log: Logger;
  viewerOf: (request: Request) => Promise<Viewer>;
  requestIdOf: (serverContext: unknown) => string;
  clientIpOf: (serverContext: unknown) => string;
}): Plugin<{ idempotency?: IdempotencyClaim }> {
  const { db, log } = options;
  const claims = new WeakMap<Request, IdempotencyClaim>();
  /** Requests answered with a stored answer, before execution. */
  const replayed = new WeakSet<Request>();

  /** Keeps the answer, unless the client is expected to retry; a failure to keep it is logged, not answered. */
  async function store(claim: IdempotencyClaim, result: ExecutionResult) {
    const retryable = result.errors?.some((e) => RETRYABLE.has(e.extensions?.code as string));
    if (retryable) return; // a committed change stays recorded: the retry replays it
    // An anonymous caller's refused request keeps no row: fresh keys must not let
    // anyone fill the table with refusals.
    if (!claim.committed && !claim.replayed && claim.scope.startsWith('anonymous:') && result.errors?.length) return;
    const { extensions: _requestSpecific, ...kept } = result;
    const response = JSON.parse(JSON.stringify(withoutSecrets(kept))) as Prisma.InputJsonValue;
    try {
      if (claim.committed || claim.replayed) {
        await db.idempotencyRecord.updateMany({ where: { scope: claim.scope, key: claim.key, response: { equals: Prisma.DbNull } }, data: { response } });
      } else {
        // Nothing committed (bad input, a refusal): the answer is kept all the same, so
        // the key means one answer. A row written meanwhile by a concurrent attempt wins.
        await db.idempotencyRecord.createMany({
          data: [{ scope: claim.scope, key: claim.key, requestHash: claim.requestHash, response, expiresAt: new Date(Date.now() + TTL_MS) }],
          skipDuplicates: true,
        });
      }
    } catch (err) {
      log.warn({ err, scope: claim.scope }, 'The answer to an Idempotency-Key request was not stored; a retry replays its changes instead');
    }
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
      const requestHash = createHash('sha256')
        .update(JSON.stringify([params.query, params.operationName ?? null, params.variables ?? {}]))
        .digest('hex');
      const claim: IdempotencyClaim = {
        scope: scopeOf(viewer, options.clientIpOf(context)),
        key,
        requestHash,
        calls: new Map(),
        committed: false,
        replayed: false,
      };
      try {
        const record = await findRecord(db, claim);
        if (record && record.requestHash !== requestHash) {
          setResult({ errors: [conflict(DIFFERENT_REQUEST)] });
          return;
        }
        if (record?.response) {
          replayed.add(request);
          setResult(record.response as ExecutionResult);
          return;
        }
        // Committed changes whose answer was not stored (lost, or still being sent):
        // the request runs again and they answer what they returned.
        if (record) claim.earlier = (record.outcome ?? {}) as Outcomes;
        claims.set(request, claim);
      } catch (err) {
        setResult({ errors: [maskError(err, options.requestIdOf(context), log)] });
      }
    },

    onContextBuilding({ context, extendContext }) {
      const claim = claims.get((context as { request: Request }).request);
      if (claim) extendContext({ idempotency: claim });
    },

    async onResultProcess({ request, result }) {
      const claim = claims.get(request);
      if (!claim || Array.isArray(result) || Symbol.asyncIterator in result) return;
      await store(claim, result);
    },

    onResponse({ request, response }) {
      if (replayed.has(request) || claims.get(request)?.replayed) response.headers.set('idempotent-replayed', 'true');
    },
  };
}
