// API keys of a team: created with their secret shown once, revoked at once.
import { z } from 'zod';
import { createApiKey as insertApiKey } from '../auth/api-keys.js';
import type { Viewer } from '../auth/viewer.js';
import { visibleApiKeys } from '../auth/visibility.js';
import { notFound } from '../errors.js';
import type { ApiKeyMode } from '../generated/prisma/enums.js';
import { change, type Deps } from './change.js';
import * as v from './validation.js';

const ApiKeyInput = z.object({
  name: v.name,
  scopes: z.array(z.enum(['READ', 'WRITE', 'DELETE', 'ADMIN'])).min(1, 'give at least one scope'),
});

/** A new key and its secret, which is stored nowhere (only its hash is). */
export async function createApiKey(deps: Deps, teamId: string, raw: z.input<typeof ApiKeyInput>, mode: ApiKeyMode = 'LIVE') {
  const input = v.parseInput(ApiKeyInput, raw);
  return change(deps, ({ tx }) => insertApiKey(tx, { teamId, name: input.name, scopes: input.scopes, mode }));
}

/** Revokes a key (again, if it already is): it answers UNAUTHENTICATED and its live subscriptions end. */
export async function revokeApiKey(deps: Deps, viewer: Viewer, id: string) {
  return change(deps, async ({ tx, announce }) => {
    const found = await tx.apiKey.findFirst({ where: { id, AND: [visibleApiKeys(viewer)] } });
    if (!found) throw notFound('API key');
    const key = found.revokedAt ? found : await tx.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
    announce({ kind: 'credential-revoked', teamId: key.teamId, apiKeyId: id });
    return key;
  });
}
