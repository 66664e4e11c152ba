// Builder configuration only: types and fields live in their own modules.
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { isStaff } from '../auth/viewer.js';
import type { Context } from '../context.js';
import type { StoredUpload } from '../domain/attachments.js';
import type { ApiKeyScope } from '../generated/prisma/enums.js';
import type PrismaTypes from '../generated/pothos-types.js';
import { getDatamodel } from '../generated/pothos-types.js';
import { forbidden, unauthenticated } from '../errors.js';
import { decodeGlobalId, encodeGlobalId } from './common/global-ids.js';
import { mutationCursorPlugin } from './common/mutation-cursor.js';
import { MAX_PAGE_SIZE } from './common/paging.js';

export const builder = new SchemaBuilder<{
  Context: Context;
  PrismaTypes: PrismaTypes;
  AuthScopes: {
    /** Any credential of a team (not anonymous). */
    member: boolean;
    /** Admins and agents, whether people or API keys. */
    staff: boolean;
    /** An API key scope (people's roles grant the matching scopes). */
    scope: ApiKeyScope;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date | string };
    JSON: { Input: Record<string, unknown>; Output: unknown };
    ID: { Input: string; Output: string };
    Upload: { Input: StoredUpload; Output: never };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin, mutationCursorPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    // Subscriptions are checked once, when they start.
    authorizeOnSubscribe: true,
    authScopes: ({ viewer }) => ({
      member: viewer.role !== 'ANONYMOUS',
      staff: isStaff(viewer),
      scope: (scope) => viewer.scopes.has(scope),
    }),
    unauthorizedError: (_parent, { viewer }) =>
      viewer.role === 'ANONYMOUS' ? unauthenticated() : forbidden(),
  },
  prisma: {
    client: (ctx) => ctx.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    defaultConnectionSize: 20,
    maxConnectionSize: MAX_PAGE_SIZE,
    onUnusedQuery: process.env.NODE_ENV === 'production' ? null : 'warn',
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    encodeGlobalID: encodeGlobalId,
    decodeGlobalID: decodeGlobalId,
    idFieldOptions: { description: 'The prefixed ID (tkt_…, cus_…); ID arguments also accept the raw UUID.' },
    nodeTypeOptions: { description: 'An object with a prefixed ID, fetchable with `node(id:)`.' },
    nodeQueryOptions: {
      description: 'Any object by its prefixed ID; null when missing or not visible to the caller.',
      authScopes: { scope: 'READ' },
      args: { id: { description: 'A prefixed ID such as tkt_….' } },
    },
    nodesQueryOptions: {
      description: 'Objects by their IDs, in the same order; null for each one missing or not visible.',
      authScopes: { scope: 'READ' },
      args: { ids: { description: 'Prefixed IDs.' } },
    },
    pageInfoTypeOptions: { description: 'Where a page of a connection sits in the whole list.' },
    hasNextPageFieldOptions: { description: 'Whether more items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'Whether items come before this page.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of the page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item of the page.' },
    edgesFieldOptions: { description: 'The items of this page, with their cursors.' },
    cursorFieldOptions: { description: 'Opaque cursor of this item, for `after` and `before`.' },
    nodeFieldOptions: { description: 'The item.' },
    pageInfoFieldOptions: { description: 'Where this page sits in the whole list.' },
    firstArgOptions: { description: 'Return the first n items (at most 100; 20 by default).' },
    afterArgOptions: { description: 'Return items after this cursor.' },
    lastArgOptions: { description: 'Return the last n items (at most 100).' },
    beforeArgOptions: { description: 'Return items before this cursor.' },
    mutationInputArgOptions: { description: 'What to do.' },
  },
});
