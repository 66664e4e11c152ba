// ticketql in this process on a bench database, with one team and an API key with
// every scope: the setup of the in-process measurements (bench:cpu, bench:fanout).
import { buildApp } from '../src/app.js';
import { createApiKey } from '../src/auth/api-keys.js';
import type { TransportOptions } from '../src/config.js';
import { createDb } from '../src/db.js';
import { createLogger } from '../src/logger.js';
import { benchDatabase } from './database.js';

/** `transport`: e.g. a higher maxSubscriptionsPerCredential for bench:fanout's one key. */
export async function inProcessApp(teamName: string, transport?: Partial<TransportOptions>) {
  const database = await benchDatabase();
  const db = createDb(database.url, 8);
  const team = await db.team.create({ data: { name: teamName, slug: `bench-${Date.now()}` } });
  const { secret } = await createApiKey(db, { teamId: team.id, name: 'bench', scopes: ['READ', 'WRITE', 'DELETE', 'ADMIN'], mode: 'TEST' });
  const app = buildApp({ db, log: createLogger('error'), jwtSecret: 'bench-secret-bench-secret-bench-secret-0', limits: { budget: 1e12 }, transport });

  /** Runs an operation as the team's key; its data, or throws its errors. */
  async function post(query: string, variables?: Record<string, unknown>) {
    const res = await app.yoga.fetch('http://bench/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
      body: JSON.stringify({ query, variables }),
    });
    const json = (await res.json()) as { data?: any; errors?: unknown };
    if (json.errors) throw new Error(JSON.stringify(json.errors));
    return json.data;
  }

  return {
    app,
    db,
    url: database.url,
    team,
    secret,
    post,
    async stop() {
      await db.$disconnect();
      await database.stop();
    },
  };
}
