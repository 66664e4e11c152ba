// Assembles the schema from its modules. Importing it opens no connection.
import { isObjectType, lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './common/scalars.js';
import './common/root.js';
import './teams/types.js';
import './teams/mutations.js';
import './agents/types.js';
import './agents/queries.js';
import './agents/mutations.js';
import './customers/types.js';
import './customers/queries.js';
import './customers/mutations.js';
import './api-keys/types.js';
import './api-keys/operations.js';
import './tickets/types.js';
import './tickets/queries.js';
import './tickets/mutations.js';
import './tickets/bulk.js';
import './tickets/merge.js';
import './attachments/types.js';
import './attachments/mutations.js';
import './messages/types.js';
import './messages/mutations.js';
import './events/types.js';
import './events/queries.js';
import './events/subscriptions.js';
import './presence/types.js';
import './presence/operations.js';
import './webhooks/types.js';
import './webhooks/operations.js';
import './viewer/types.js';
import './viewer/rate-limit.js';

const built = builder.toSchema();

// The Prisma plugin adds `totalCount` to connections without a description.
for (const type of Object.values(built.getTypeMap())) {
  const totalCount = isObjectType(type) ? type.getFields().totalCount : undefined;
  if (totalCount && !totalCount.description) {
    totalCount.description = 'Number of items in the whole list (all pages), with the same filters.';
  }
}

export const schema = lexicographicSortSchema(built);
