// One app per test file on the suite's real PostgreSQL, and an execute() helper
// whose failures print the operation and the response. Apps and their database
// pools are disposed when the file ends (leftovers.ts).
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { print } from 'graphql';
import { inject } from 'vitest';
import { buildApp, type App, type AppOptions } from '../../src/app.js';
import { createDb, type Db } from '../../src/db.js';
import { createEventBus } from '../../src/live/bus.js';
import { createLogger } from '../../src/logger.js';
import { observedBus, type ObservedBus } from './bus.js';
import { leftover } from './leftovers.js';

export const JWT_SECRET = 'test-secret-test-secret-test-secret-0123';

export type TestApp = { app: App; db: Db; sql: string[]; bus: ObservedBus };

let current: TestApp | undefined;

/** The app of this test file (created on first use). `sql` records every SQL statement. */
export function testApp(): TestApp {
  if (current) return current;
  const sql: string[] = [];
  const db = createDb(inject('databaseUrl'), 5, (query) => sql.push(query));
  const bus = observedBus(createEventBus({}));
  const app = buildApp({ db, bus, log: createLogger('silent'), jwtSecret: JWT_SECRET });
  leftover('the test app', async () => {
    await app.stop();
    await db.$disconnect();
  });
  current = { app, db, sql, bus };
  return current;
}

/**
 * Another app on the suite's database with `options` (limits, plugins, …) and, unless
 * `options.db` is given, its own pool of `poolSize` connections; disposed when the file ends.
 */
export function otherApp(options: Partial<AppOptions> = {}, poolSize = 2): { app: App; db: Db } {
  const own = !options.db;
  const db = options.db ?? createDb(inject('databaseUrl'), poolSize);
  const app = buildApp({ log: createLogger('silent'), jwtSecret: JWT_SECRET, ...options, db });
  leftover('an app of the test', async () => {
    await app.stop();
    if (own) await db.$disconnect();
  });
  return { app, db };
}

/** otherApp(), listening on a free port: `base` is its URL. */
export async function startOtherApp(options: Partial<AppOptions> = {}, poolSize = 2): Promise<{ app: App; db: Db; base: string }> {
  const { app, db } = otherApp(options, poolSize);
  return { app, db, base: await app.start(0) };
}

export type GraphQLResponse<T> = {
  status: number;
  headers: Headers;
  data?: T | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
  extensions?: Record<string, unknown>;
};

export type ExecuteOptions<V> = {
  variables?: V;
  /** A bearer credential: API key secret or token. */
  as?: string;
  headers?: Record<string, string>;
};

export async function execute<R, V>(
  document: TypedDocumentNode<R, V>,
  options: ExecuteOptions<V> = {},
): Promise<GraphQLResponse<R> & { ok(): R; fails(code: string): NonNullable<GraphQLResponse<R>['errors']>[number] }> {
  const { app } = testApp();
  const query = print(document);
  const response = await app.yoga.fetch(
    'http://ticketql.test/graphql',
    {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/graphql-response+json',
        ...(options.as ? { authorization: `Bearer ${options.as}` } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ query, variables: options.variables ?? {} }),
    },
    { requestId: 'test-request' },
  );
  const body = (await response.json()) as GraphQLResponse<R>;
  const describe = () => `${query}\nvariables: ${JSON.stringify(options.variables)}\nresponse: ${JSON.stringify(body, null, 2)}`;
  return {
    ...body,
    status: response.status,
    headers: response.headers,
    ok() {
      if (body.errors?.length || !body.data) throw new Error(`expected no errors:\n${describe()}`);
      return body.data;
    },
    fails(code: string) {
      const error = body.errors?.find((e) => e.extensions?.code === code);
      if (!error) throw new Error(`expected an error with code ${code}:\n${describe()}`);
      return error;
    },
  };
}
