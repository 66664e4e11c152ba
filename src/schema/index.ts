// Assembles the schema from its modules. Importing it opens no connection.
import { lexicographicSortSchema } from 'graphql';
import { builder } from './builder.js';
import './common/scalars.js';
import './common/root.js';
import './teams/types.js';
import './agents/types.js';
import './customers/types.js';
import './api-keys/types.js';
import './viewer/types.js';

export const schema = lexicographicSortSchema(builder.toSchema());
