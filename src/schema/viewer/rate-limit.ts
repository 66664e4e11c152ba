import type { RateLimitState } from '../../platform/rate-limits.js';
import { builder } from '../builder.js';

const RateLimit = builder.objectRef<RateLimitState>('RateLimit').implement({
  description: "The caller's cost budget (GitHub style): every operation spends its cost.",
  fields: (t) => ({
    cost: t.exposeInt('cost', { description: 'What this operation cost: object fields × the page sizes above them.' }),
    limit: t.exposeInt('limit', { description: 'Cost the credential may spend per window.' }),
    remaining: t.exposeInt('remaining', { description: 'Cost left in the current window, after this operation.' }),
    resetAt: t.expose('resetAt', { type: 'DateTime', description: 'When the window starts over.' }),
  }),
});

builder.queryField('rateLimit', (t) =>
  t.field({
    type: RateLimit,
    nullable: true,
    authScopes: { member: true },
    description: "Where the caller stands with its cost budget; also in the RateLimit-* response headers.",
    resolve: (_root, _args, { rateLimit }) => rateLimit ?? null,
  }),
);
