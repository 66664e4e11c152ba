// RateLimit-* headers (IETF draft) from the cost budget the operation spent.
import type { Plugin } from 'graphql-yoga';
import type { Context, ServerContext } from '../context.js';
import type { RateLimitState } from '../platform/rate-limits.js';

export function rateLimitHeadersPlugin(): Plugin<Record<string, unknown>, ServerContext> {
  const states = new WeakMap<Request, RateLimitState>();
  return {
    onExecute({ args }) {
      const ctx = args.contextValue as unknown as Context & { request: Request };
      return {
        onExecuteDone() {
          if (ctx.rateLimit && ctx.request) states.set(ctx.request, ctx.rateLimit);
        },
      };
    },
    onResponse({ request, response }) {
      const state = states.get(request);
      if (!state) return;
      response.headers.set('ratelimit-limit', String(state.limit));
      response.headers.set('ratelimit-remaining', String(state.remaining));
      response.headers.set('ratelimit-reset', String(Math.max(0, Math.ceil((state.resetAt.getTime() - Date.now()) / 1000))));
    },
  };
}
