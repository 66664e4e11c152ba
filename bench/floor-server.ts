// The floor of the required stack: a bare graphql-yoga server (its defaults, no
// plugins, no auth) whose one field runs the baseline's hand-written SQL for a
// workload. ticketql's throughput over this one is what its own code costs; this
// one's over the baseline is what GraphQL over HTTP with yoga costs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { JSONResolver } from 'graphql-scalars';
import { createSchema, createYoga } from 'graphql-yoga';
import pg from 'pg';
import { QUERIES } from './baseline.js';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.DATABASE_POOL_SIZE ?? 10) });
const run = async (_: unknown, { name, params }: { name: string; params: Record<string, string> }) => {
  const { rows } = await pool.query<{ json: unknown }>(QUERIES[name]!(new URLSearchParams(params), params));
  return rows[0]?.json ?? null;
};
const yoga = createYoga({
  landingPage: false,
  graphiql: false,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      scalar JSON
      type Query { run(name: String!, params: JSON!): JSON }
      type Mutation { run(name: String!, params: JSON!): JSON }
    `,
    resolvers: { JSON: JSONResolver, Query: { run }, Mutation: { run } },
  }),
});
const server = http.createServer(yoga);
server.listen(0, '127.0.0.1', () => process.stdout.write(`floor listening on http://127.0.0.1:${(server.address() as AddressInfo).port}\n`));
process.on('SIGTERM', () => server.close(() => void pool.end().then(() => process.exit(0))));
