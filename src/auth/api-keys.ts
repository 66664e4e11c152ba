// Secret API keys: `sk_live_…` / `sk_test_…`, shown once; only a SHA-256 is stored.
import { createHash, randomBytes } from 'node:crypto';
import type { ApiKey } from '../generated/prisma/client.js';
import type { ApiKeyMode, ApiKeyScope } from '../generated/prisma/enums.js';
import type { Db } from '../db.js';

const KEY_RE = /^sk_(live|test)_[0-9A-Za-z]{32}$/;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function looksLikeApiKey(value: string): boolean {
  return KEY_RE.test(value);
}

function randomBase62(length: number): string {
  // 248 is the largest multiple of 62 below 256: rejecting larger bytes keeps it unbiased.
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248 && out.length < length) out += ALPHABET[byte % 62];
    }
  }
  return out;
}

export type NewApiKey = { id: string; secret: string; key: ApiKey };

/** Creates a key for a team and returns its secret, which is not stored. */
export async function createApiKey(
  db: Pick<Db, 'apiKey'>,
  input: { teamId: string; name: string; scopes: ApiKeyScope[]; mode: ApiKeyMode },
): Promise<NewApiKey> {
  const secret = `sk_${input.mode === 'TEST' ? 'test' : 'live'}_${randomBase62(32)}`;
  const key = await db.apiKey.create({
    data: {
      teamId: input.teamId,
      name: input.name,
      scopes: [...new Set(input.scopes)],
      mode: input.mode,
      prefix: secret.slice(0, 12),
      hash: hashApiKey(secret),
    },
  });
  return { id: key.id, secret, key };
}
