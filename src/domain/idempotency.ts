// Idempotency keys, recorded where the writes are. Each change() of a keyed request
// claims its place in the key's row as the first statement of its transaction and
// stores what it returned at its end (just before the change's last statement), so the
// key's use commits or rolls back with the writes: a crash, a lost connection or a
// database error after the commit cannot split them. A retry re-runs the request's resolvers with each committed change() answering
// what it returned the first time instead of running again; a change() that never
// committed (a crash between two of them) runs then, once.
// The request side (finding the row, stored answers, the replay header) is plugins/idempotency.ts.
import type { Db, Tx } from '../db.js';
import { conflict } from '../errors.js';

const TTL_MS = 24 * 3600_000;

/** A keyed mutation request, carried in the context to every change() it makes. */
export type IdempotencyClaim = {
  /** The credential's team and principal, or `anonymous:<ip>`. */
  scope: string;
  key: string;
  requestHash: string;
  /** The response key of the mutation field being resolved; set only while it runs. */
  field?: string;
  /** What the changes of an earlier attempt returned, by field, in the order they ran. */
  earlier?: Outcomes;
  /** change() calls made so far by this attempt, by field. */
  calls: Map<string, number>;
  /** A change of this attempt committed. */
  committed: boolean;
  /** An answer of this attempt comes from an earlier one. */
  replayed: boolean;
};

export type Outcomes = Record<string, unknown[]>;

export const DIFFERENT_REQUEST = 'This Idempotency-Key was used for a different request';

/** API key secrets and webhook signing secrets are shown once: never kept for a replay. */
export const SECRET = /^(sk_(live|test)_|whsec_)/;

/** JSON with Dates and BigInts tagged, so that a replay gets back the values as they were returned. */
function encode(value: unknown): unknown {
  let secret = false;
  const created: string[] = [];
  const text = JSON.stringify(value ?? null, function (this: Record<string, unknown>, key, encoded) {
    const raw = this[key];
    if (raw instanceof Date) return { $date: raw.toISOString() };
    if (typeof raw === 'bigint') return { $bigint: raw.toString() };
    if (typeof raw === 'string') {
      if (SECRET.test(raw)) secret = true;
      else if (key === 'id') created.push(raw);
    }
    return encoded;
  });
  // Kept as the IDs of what was created: the secret must not sit in the table for 24 hours.
  return secret ? { $secret: created } : JSON.parse(text);
}

function decode(stored: unknown): unknown {
  return JSON.parse(JSON.stringify(stored), (_key, value) => {
    if (value && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length === 1) {
      if (typeof value.$date === 'string') return new Date(value.$date);
      if (typeof value.$bigint === 'string') return BigInt(value.$bigint);
    }
    return value;
  });
}

/** Thrown inside the transaction when the key's row holds this change already (or another request). */
class KeyAlreadyUsed extends Error {}

/**
 * Claims slot `index` of `field` in the key's row: creates the row (or takes over an
 * expired one), or extends the row of an earlier attempt of the same request whose
 * answer was not stored. Waits for a concurrent transaction holding the key to end, so
 * of two racing attempts exactly one commits the slot.
 */
async function claimSlot(tx: Tx, claim: IdempotencyClaim, field: string, index: number): Promise<void> {
  const fresh = JSON.stringify({ [field]: [null] });
  const rows = await tx.$queryRaw<unknown[]>`
    INSERT INTO idempotency_records AS r (scope, key, request_hash, outcome, expires_at)
    VALUES (${claim.scope}, ${claim.key}, ${claim.requestHash}, ${fresh}::jsonb, ${new Date(Date.now() + TTL_MS)})
    ON CONFLICT (scope, key) DO UPDATE SET
      outcome = CASE WHEN r.expires_at < now() THEN EXCLUDED.outcome
        ELSE coalesce(r.outcome, '{}'::jsonb) || jsonb_build_object(${field}::text, coalesce(r.outcome -> ${field}::text, '[]'::jsonb) || '[null]'::jsonb) END,
      response = CASE WHEN r.expires_at < now() THEN NULL ELSE r.response END,
      request_hash = EXCLUDED.request_hash,
      created_at = CASE WHEN r.expires_at < now() THEN now() ELSE r.created_at END,
      expires_at = CASE WHEN r.expires_at < now() THEN EXCLUDED.expires_at ELSE r.expires_at END
    WHERE r.expires_at < now()
       OR (r.request_hash = EXCLUDED.request_hash AND r.response IS NULL
           AND jsonb_array_length(coalesce(r.outcome -> ${field}::text, '[]'::jsonb)) = ${index}::int)
    RETURNING 1`;
  if (rows.length === 0) throw new KeyAlreadyUsed();
}

async function storeOutcome(tx: Tx, claim: IdempotencyClaim, field: string, index: number, result: unknown): Promise<void> {
  const path = `{${JSON.stringify(field)},${index}}`;
  await tx.$executeRaw`
    UPDATE idempotency_records SET outcome = jsonb_set(outcome, ${path}::text[], ${JSON.stringify(encode(result))}::jsonb)
    WHERE scope = ${claim.scope} AND key = ${claim.key}`;
}

/** The row of the key, unless it has expired. */
export async function findRecord(db: Db, claim: Pick<IdempotencyClaim, 'scope' | 'key'>) {
  return db.idempotencyRecord.findFirst({ where: { scope: claim.scope, key: claim.key, expiresAt: { gt: new Date() } } });
}

function replayOf<T>(claim: IdempotencyClaim, stored: unknown): T {
  claim.replayed = true;
  const value = decode(stored);
  if (value && typeof value === 'object' && '$secret' in value) {
    const created = (value as { $secret: string[] }).$secret;
    throw conflict(
      'The first request with this Idempotency-Key created a secret, which is shown only in its first answer' +
        (created.length ? `; it created ${created.join(', ')}` : ''),
    );
  }
  return value as T;
}

/**
 * Runs one change of a keyed request: answers what an earlier attempt's change in the
 * same place returned, or runs it through `transaction` with the key's slot claimed
 * first and the result stored last, inside it.
 */
export async function keyedChange<T>(
  db: Db,
  claim: IdempotencyClaim,
  field: string,
  transaction: (hooks: { first: (tx: Tx) => Promise<void>; last: (tx: Tx, result: T) => Promise<void> }) => Promise<T>,
): Promise<T> {
  const index = claim.calls.get(field) ?? 0;
  claim.calls.set(field, index + 1);
  const earlier = claim.earlier?.[field];
  if (earlier && index < earlier.length) return replayOf<T>(claim, earlier[index]);
  try {
    const result = await transaction({
      first: (tx) => claimSlot(tx, claim, field, index),
      last: (tx, value) => storeOutcome(tx, claim, field, index, value),
    });
    claim.committed = true;
    return result;
  } catch (err) {
    if (!(err instanceof KeyAlreadyUsed)) throw err;
  }
  // A concurrent attempt committed this change first (or another request holds the key).
  const record = await findRecord(db, claim);
  if (!record || record.requestHash !== claim.requestHash) throw conflict(DIFFERENT_REQUEST);
  claim.earlier = (record.outcome ?? {}) as Outcomes;
  const stored = claim.earlier[field];
  if (stored && index < stored.length) return replayOf<T>(claim, stored[index]);
  throw conflict('This Idempotency-Key was answered without this change: send the request again with a new key');
}
