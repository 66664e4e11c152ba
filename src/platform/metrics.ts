// Prometheus metrics on /metrics: request count and latency per operation and
// errors (from @graphql-yoga/plugin-prometheus), plus the product's own gauges.
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { poolOf, type Db } from '../db.js';

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics(db: Db) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const pool = poolOf.get(db);
  new Gauge({
    name: 'ticketql_db_pool_connections',
    help: 'PostgreSQL connections of this process, by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      this.set({ state: 'total' }, pool?.totalCount ?? 0);
      this.set({ state: 'idle' }, pool?.idleCount ?? 0);
      this.set({ state: 'waiting' }, pool?.waitingCount ?? 0);
    },
  });
  return {
    registry,
    subscriptionsOpen: new Gauge({ name: 'ticketql_subscriptions_open', help: 'Live subscriptions open on this process', registers: [registry] }),
    errors: new Counter({ name: 'ticketql_errors_total', help: 'GraphQL errors sent, by extensions.code', labelNames: ['code'], registers: [registry] }),
    jobs: new Gauge({
      name: 'ticketql_jobs',
      help: 'Jobs in the queue, by state (queued: waiting or scheduled; failed: out of attempts)',
      labelNames: ['state'],
      registers: [registry],
      async collect() {
        const rows = await db.$queryRaw<Array<{ state: string; n: bigint }>>`
          SELECT CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END AS state, count(*) AS n
          FROM graphile_worker._private_jobs GROUP BY 1`;
        this.reset();
        for (const { state, n } of rows) this.set({ state }, Number(n));
      },
    }),
  };
}
