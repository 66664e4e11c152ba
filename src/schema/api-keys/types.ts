import { builder } from '../builder.js';
import { visibleApiKeys } from '../../auth/visibility.js';

export const ApiKeyScopeEnum = builder.enumType('ApiKeyScope', {
  description: 'What an API key may do.',
  values: {
    READ: { description: 'Run queries.' },
    WRITE: { description: 'Create and update tickets, customers and messages.' },
    DELETE: { description: 'Delete tickets and customers.' },
    ADMIN: { description: 'Manage API keys, webhooks, agents and team settings.' },
  } as const,
});

export const ApiKeyModeEnum = builder.enumType('ApiKeyMode', {
  description: 'Whether a key is for production or testing (sk_live_… or sk_test_…).',
  values: {
    LIVE: { description: 'A production key (sk_live_…).' },
    TEST: { description: 'A test key (sk_test_…).' },
  } as const,
});

export const ApiKey = builder.prismaNode('ApiKey', {
  description: 'A secret API key of a team. The secret itself is shown only when the key is created.',
  id: { field: 'id', description: 'The key ID (key_…); not the secret.' },
  // Missing, or not visible to the viewer: node(id:) answers null.
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, AND: [visibleApiKeys(viewer)] }),
  authScopes: { scope: 'ADMIN' },
  fields: (t) => ({
    name: t.exposeString('name', { description: 'What the key is for.' }),
    prefix: t.exposeString('prefix', { description: 'The first characters of the secret, to recognise it.' }),
    scopes: t.expose('scopes', { type: [ApiKeyScopeEnum], description: 'What the key may do.' }),
    mode: t.expose('mode', { type: ApiKeyModeEnum, description: 'Live or test.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the key was created.' }),
    lastUsedAt: t.expose('lastUsedAt', {
      type: 'DateTime',
      nullable: true,
      description: 'When the key was last used (to the minute).',
    }),
    revokedAt: t.expose('revokedAt', { type: 'DateTime', nullable: true, description: 'When the key was revoked.' }),
  }),
});
