import { DateTimeResolver, JSONObjectResolver } from 'graphql-scalars';
import { builder } from '../builder.js';

builder.addScalarType('DateTime', DateTimeResolver, {
  description: 'A date and time in UTC, as an ISO 8601 string (2026-03-30T10:00:00.000Z).',
});
builder.addScalarType('JSON', JSONObjectResolver, {
  description: 'A JSON object.',
});
