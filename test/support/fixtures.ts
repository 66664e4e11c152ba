// Each test builds its own team, so tests never clean up after each other: the
// chain app → team → admin, agent, customer → ticket, as vitest fixtures that a
// test names in its arguments and gets built on demand:
//
//   test('a customer never sees internal notes', async ({ agent, customer, ticket, execute }) => …)
import { randomUUID } from 'node:crypto';
import { test as base } from 'vitest';
import { createApiKey } from '../../src/auth/api-keys.js';
import { signToken } from '../../src/auth/tokens.js';
import type { ApiKeyScope } from '../../src/generated/prisma/enums.js';
import { encodeId } from '../../src/ids.js';
import { execute, JWT_SECRET, testApp } from './app.js';
import { newTicket } from './operations.js';

export type TeamFixture = Awaited<ReturnType<typeof createTeam>>;

/** A team with an admin agent, an agent, a customer, and keys of each scope set. */
export async function createTeam(options: { acceptsPublicTickets?: boolean } = {}) {
  const { db } = testApp();
  const suffix = randomUUID().slice(0, 8);
  const team = await db.team.create({
    data: {
      name: `Team ${suffix}`,
      slug: `team-${suffix}`,
      supportEmail: `support@${suffix}.test`,
      acceptsPublicTickets: options.acceptsPublicTickets ?? false,
      slaTargets: {
        create: [
          { priority: 'LOW', firstResponseMinutes: 1440, resolutionMinutes: 10080 },
          { priority: 'NORMAL', firstResponseMinutes: 480, resolutionMinutes: 2880 },
          { priority: 'HIGH', firstResponseMinutes: 120, resolutionMinutes: 1440 },
          { priority: 'URGENT', firstResponseMinutes: 30, resolutionMinutes: 240 },
        ],
      },
    },
  });
  const admin = await db.agent.create({ data: { teamId: team.id, name: 'Ada Admin', email: `ada@${suffix}.test`, role: 'ADMIN' } });
  const agent = await db.agent.create({
    data: { teamId: team.id, name: 'Alex Agent', email: `alex@${suffix}.test`, role: 'AGENT', avatarUrl: 'https://img.test/alex.png' },
  });
  const customer = await db.customer.create({ data: { teamId: team.id, name: 'Jane Doe', email: `jane@${suffix}.test` } });
  const key = async (scopes: ApiKeyScope[]) =>
    (await createApiKey(db, { teamId: team.id, name: scopes.join('+'), scopes, mode: 'TEST' })).secret;
  const token = (role: 'admin' | 'agent' | 'customer', email: string, sub: string) =>
    signToken(JWT_SECRET, { sub, team: encodeId('Team', team.id), role, email }, '1h');

  return {
    team,
    teamId: encodeId('Team', team.id),
    admin,
    agent,
    customer,
    keys: {
      admin: await key(['READ', 'WRITE', 'DELETE', 'ADMIN']),
      read: await key(['READ']),
      write: await key(['READ', 'WRITE']),
    },
    tokens: {
      admin: await token('admin', admin.email, encodeId('Agent', admin.id)),
      agent: await token('agent', agent.email, encodeId('Agent', agent.id)),
      customer: await token('customer', customer.email, 'external-jane'),
    },
  };
}

/** Someone of the team as the API names them, and the token they sign in with. */
export type Person = {
  /** The global ID (agt_… or cus_…). */
  id: string;
  uuid: string;
  name: string;
  email: string;
  token: string;
};

const person = (type: 'Agent' | 'Customer', row: { id: string; name: string | null; email: string }, token: string): Person => ({
  id: encodeId(type, row.id),
  uuid: row.id,
  name: row.name ?? '',
  email: row.email,
  token,
});

/**
 * vitest's `test` with the product's fixtures. Each is built only when a test names it,
 * once per test, on a team of its own:
 * - `app`: this file's app (`app`, `db`, `sql`, `bus`); `execute`: a GraphQL request to it
 * - `team`: a team (createTeam) with its API keys (`team.keys`) and people;
 *   `otherTeam`: a second, unrelated team; `publicTeam`: one that takes anonymous tickets
 * - `admin`, `agent`: the team's agents; `customer`: its customer (Person)
 * - `ticket`: a ticket of `customer`, created through the API with a first message
 */
export const test = base
  .extend('app', { scope: 'file' }, () => testApp())
  .extend('execute', () => execute)
  .extend('team', () => createTeam())
  .extend('otherTeam', () => createTeam())
  .extend('publicTeam', () => createTeam({ acceptsPublicTickets: true }))
  .extend('admin', ({ team }) => person('Agent', team.admin, team.tokens.admin))
  .extend('agent', ({ team }) => person('Agent', team.agent, team.tokens.agent))
  .extend('customer', ({ team }) => person('Customer', team.customer, team.tokens.customer))
  .extend('ticket', ({ team, customer }) =>
    newTicket(team.keys.write, { title: 'Printer on fire', body: 'Smoke everywhere', customerId: customer.id }),
  );
