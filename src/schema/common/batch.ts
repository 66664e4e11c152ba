// Rows read by ID for many parents at once: the resolvers of one page's items ask in
// the same tick, and one query per selection answers them all (the N+1 guard for
// fields that no Prisma relation covers).
import { createContextCache } from '@pothos/core';
import type { Context } from '../../context.js';

type Query = { select?: Record<string, unknown>; include?: Record<string, unknown> };
type Waiting<Row> = { resolve(row: Row | null): void; reject(err: unknown): void };

/**
 * A loader per operation: `load(ctx)(id, query)` resolves with the row of that ID
 * (null when missing or not visible), reading all the IDs asked for in one tick with
 * `read(ctx, ids, query)`, one query per distinct selection.
 */
export function batchById<Row extends { id: string }>(read: (ctx: Context, ids: string[], query: Query) => Promise<Row[]>) {
  return createContextCache((ctx: Context) => {
    const pending = new Map<string, { query: Query; waiting: Map<string, Waiting<Row>[]> }>();
    return (id: string, query: Query): Promise<Row | null> =>
      new Promise((resolve, reject) => {
        const key = JSON.stringify(query);
        let batch = pending.get(key);
        if (!batch) {
          const started = { query, waiting: new Map<string, Waiting<Row>[]>() };
          batch = started;
          pending.set(key, started);
          setImmediate(() => {
            pending.delete(key);
            // The ID is needed to hand each row to its parent, whatever the selection.
            const withId = started.query.select ? { ...started.query, select: { ...started.query.select, id: true } } : started.query;
            read(ctx, [...started.waiting.keys()], withId).then(
              (rows) => {
                const byId = new Map(rows.map((row) => [row.id, row]));
                for (const [rowId, waiting] of started.waiting) for (const w of waiting) w.resolve(byId.get(rowId) ?? null);
              },
              (err: unknown) => {
                for (const waiting of started.waiting.values()) for (const w of waiting) w.reject(err);
              },
            );
          });
        }
        const waiting = batch.waiting.get(id) ?? [];
        waiting.push({ resolve, reject });
        batch.waiting.set(id, waiting);
      });
  });
}
