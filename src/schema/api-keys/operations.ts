import * as apiKeys from '../../domain/api-keys.js';
import { visibleApiKeys } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { payloadCursor } from '../common/payloads.js';
import { adminOnly } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { pageSizeLimit } from '../common/paging.js';
import { ApiKey, ApiKeyModeEnum, ApiKeyScopeEnum } from './types.js';

builder.queryField('apiKeys', (t) =>
  t.prismaConnection(
    {
      type: ApiKey,
      description: "The team's API keys, newest first, revoked ones included (admins). Never the secrets.",
      authScopes: adminOnly,
      cursor: 'id',
      maxSize: pageSizeLimit,
      resolve: (query, _root, _args, { db, viewer }) =>
        db.apiKey.findMany({ ...query, where: visibleApiKeys(viewer), orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] }),
    },
    { name: 'ApiKeyConnection', description: 'A page of API keys.' },
    { name: 'ApiKeyEdge', description: 'An API key in a page.' },
  ),
);

builder.relayMutationField(
  'createApiKey',
  {
    description: 'The new key.',
    inputFields: (t) => ({
      name: t.string({ required: true, description: 'What the key is for.' }),
      scopes: t.field({ type: [ApiKeyScopeEnum], required: true, description: 'What it may do.' }),
      mode: t.field({ type: ApiKeyModeEnum, description: 'LIVE (default) or TEST.' }),
    }),
  },
  {
    description: 'Creates an API key (admins). Its secret is in the payload, and nowhere else, ever.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const created = await apiKeys.createApiKey(ctx, ctx.viewer.teamId!, { name: input.name, scopes: input.scopes }, input.mode ?? 'LIVE');
      return { secret: created.secret, apiKey: created.key };
    },
  },
  {
    description: 'The key and its secret.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      apiKey: t.field({ type: ApiKey, description: 'The key.', resolve: (r) => r.apiKey }),
      secret: t.string({ description: 'The secret (sk_live_… or sk_test_…). Shown once: store it now.', resolve: (r) => r.secret }),
    }),
  },
);

builder.relayMutationField(
  'revokeApiKey',
  {
    description: 'The key to revoke.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The key (key_… or UUID).' }) }),
  },
  {
    description: 'Revokes an API key at once (admins): it answers UNAUTHENTICATED from then on.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => ({
      apiKey: await apiKeys.revokeApiKey(ctx, ctx.viewer, uuidOf('ApiKey', input.id, 'input.id')),
    }),
  },
  {
    description: 'The revoked key.',
    outputFields: (t) => ({
      ...payloadCursor(t), apiKey: t.field({ type: ApiKey, description: 'The key, with revokedAt set.', resolve: (r) => r.apiKey }) }),
  },
);
