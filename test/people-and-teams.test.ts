import { describe, expect, test } from 'vitest';
import { encodeId } from '../src/ids.js';
import { graphql } from './generated/index.js';
import { execute, testApp } from './support/app.js';
import { createTeam } from './support/fixtures.js';
import { newTicket } from './support/operations.js';

const CreateCustomer = graphql(`
  mutation CreateCustomer($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id name email } } }
`);
const UpdateCustomer = graphql(`
  mutation UpdateCustomer($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id name email } } }
`);
const DeleteCustomer = graphql(`
  mutation DeleteCustomer($input: DeleteCustomerInput!) { deleteCustomer(input: $input) { deletedCustomerId } }
`);
const Customers = graphql(`
  query Customers($search: String, $first: Int) {
    customers(search: $search, first: $first) { totalCount edges { node { name email tickets(first: 5) { totalCount edges { node { title } } } } } }
  }
`);
const CreateAgent = graphql(`
  mutation CreateAgent($input: CreateAgentInput!) { createAgent(input: $input) { agent { id name email role avatarUrl } } }
`);
const UpdateAgent = graphql(`
  mutation UpdateAgent($input: UpdateAgentInput!) { updateAgent(input: $input) { agent { id name role } } }
`);
const DeleteAgent = graphql(`
  mutation DeleteAgent($input: DeleteAgentInput!) { deleteAgent(input: $input) { deletedAgentId } }
`);
const Agents = graphql(`
  query Agents { agents(first: 10) { totalCount edges { node { name role } } } }
`);
const CreateTeam = graphql(`
  mutation CreateTeam($input: CreateTeamInput!) {
    createTeam(input: $input) { adminKey team { id name slug acceptsPublicTickets slaTargets { priority firstResponseMinutes resolutionMinutes } } }
  }
`);
const UpdateTeam = graphql(`
  mutation UpdateTeam($input: UpdateTeamInput!) {
    updateTeam(input: $input) { team { name slug supportEmail acceptsPublicTickets slaTargets { priority firstResponseMinutes resolutionMinutes } } }
  }
`);
const DeleteTeam = graphql(`
  mutation DeleteTeam($input: DeleteTeamInput!) { deleteTeam(input: $input) { deletedTeamId } }
`);
const TeamQuery = graphql(`
  query MyTeam { team { id slug } }
`);

describe('customers', () => {
  test('create (email lowercased, unique per team), update, search, delete', async () => {
    const t = await createTeam();
    const created = (await execute(CreateCustomer, { as: t.keys.write, variables: { input: { email: ' Kim@Example.COM ', name: 'Kim' } } })).ok()
      .createCustomer.customer;
    expect(created).toMatchObject({ name: 'Kim', email: 'kim@example.com' });
    expect(created.id).toMatch(/^cus_/);
    const dup = await execute(CreateCustomer, { as: t.keys.write, variables: { input: { email: 'KIM@example.com' } } });
    expect(dup.fails('CONFLICT').message).toBe('A customer with this email exists in the team');

    // Another team may have a customer with the same email.
    const other = await createTeam();
    (await execute(CreateCustomer, { as: other.keys.write, variables: { input: { email: 'kim@example.com' } } })).ok();

    const renamed = (await execute(UpdateCustomer, { as: t.keys.write, variables: { input: { id: created.id, name: 'Kim Lee' } } })).ok();
    expect(renamed.updateCustomer.customer).toEqual({ id: created.id, name: 'Kim Lee', email: 'kim@example.com' });

    await newTicket(t.keys.write, { title: 'Kim asks', customerId: created.id });
    const found = (await execute(Customers, { as: t.keys.read, variables: { search: 'LEE' } })).ok().customers;
    expect(found.totalCount).toBe(1);
    expect(found.edges[0]!.node).toEqual({ name: 'Kim Lee', email: 'kim@example.com', tickets: { totalCount: 1, edges: [{ node: { title: 'Kim asks' } }] } });

    (await execute(UpdateCustomer, { as: other.keys.write, variables: { input: { id: created.id, name: 'x' } } })).fails('NOT_FOUND');
    (await execute(DeleteCustomer, { as: t.keys.write, variables: { input: { id: created.id } } })).fails('FORBIDDEN'); // needs DELETE
    const deleted = (await execute(DeleteCustomer, { as: t.keys.admin, variables: { input: { id: created.id } } })).ok();
    expect(deleted.deleteCustomer.deletedCustomerId).toBe(created.id);
    (await execute(DeleteCustomer, { as: t.keys.admin, variables: { input: { id: created.id } } })).fails('NOT_FOUND');
    const { db } = testApp();
    expect(await db.ticket.count({ where: { teamId: t.team.id, customerId: null } })).toBe(1); // the ticket stays
  });
});

describe('agents', () => {
  test('admins create, update and delete agents; agents cannot', async () => {
    const t = await createTeam();
    const input = { name: 'Sam', email: 'Sam@Team.test', avatarUrl: 'https://img.test/sam.png' };
    (await execute(CreateAgent, { as: t.tokens.agent, variables: { input } })).fails('FORBIDDEN');
    (await execute(CreateAgent, { as: t.keys.write, variables: { input } })).fails('FORBIDDEN');
    const agent = (await execute(CreateAgent, { as: t.keys.admin, variables: { input } })).ok().createAgent.agent;
    expect(agent).toMatchObject({ name: 'Sam', email: 'sam@team.test', role: 'AGENT', avatarUrl: 'https://img.test/sam.png' });
    (await execute(CreateAgent, { as: t.keys.admin, variables: { input } })).fails('CONFLICT');
    const bad = await execute(CreateAgent, { as: t.keys.admin, variables: { input: { name: '', email: 'x' } } });
    expect(bad.fails('BAD_USER_INPUT').extensions!.fields.map((f: { path: string }) => f.path)).toEqual(['input.name', 'input.email']);

    const promoted = (await execute(UpdateAgent, { as: t.tokens.admin, variables: { input: { id: agent.id, role: 'ADMIN' } } })).ok();
    expect(promoted.updateAgent.agent).toEqual({ id: agent.id, name: 'Sam', role: 'ADMIN' });
    expect((await execute(Agents, { as: t.keys.read })).ok().agents.totalCount).toBe(3);

    const ticket = await newTicket(t.keys.write, { title: 'Sam’s', assigneeId: agent.id });
    expect((await execute(DeleteAgent, { as: t.keys.admin, variables: { input: { id: agent.id } } })).ok().deleteAgent.deletedAgentId).toBe(agent.id);
    const { db } = testApp();
    expect((await db.ticket.findUniqueOrThrow({ where: { id: (await db.ticket.findFirstOrThrow({ where: { teamId: t.team.id } })).id } })).assigneeId).toBeNull();
    expect(ticket.assignee?.id).toBe(agent.id);
  });
});

describe('teams', () => {
  test('createTeam returns the new team and a working ADMIN key; default SLA targets fill the gaps', async () => {
    const t = await createTeam();
    const slug = `made-${Date.now().toString(36)}`;
    const res = (
      await execute(CreateTeam, {
        as: t.keys.admin,
        variables: { input: { name: 'Made', slug, acceptsPublicTickets: true, slaTargets: [{ priority: 'URGENT', firstResponseMinutes: 15, resolutionMinutes: 120 }] } },
      })
    ).ok().createTeam;
    expect(res.team).toMatchObject({ name: 'Made', slug, acceptsPublicTickets: true });
    expect(res.team.slaTargets).toEqual([
      { priority: 'LOW', firstResponseMinutes: 1440, resolutionMinutes: 7200 },
      { priority: 'NORMAL', firstResponseMinutes: 480, resolutionMinutes: 2880 },
      { priority: 'HIGH', firstResponseMinutes: 240, resolutionMinutes: 1440 },
      { priority: 'URGENT', firstResponseMinutes: 15, resolutionMinutes: 120 },
    ]);
    expect(res.adminKey).toMatch(/^sk_live_/);
    expect((await execute(TeamQuery, { as: res.adminKey })).ok().team).toEqual({ id: res.team.id, slug });
    // The creator does not get into the new team.
    expect((await execute(TeamQuery, { as: t.keys.admin })).ok().team.slug).toBe(t.team.slug);

    (await execute(CreateTeam, { as: t.keys.admin, variables: { input: { name: 'Again', slug } } })).fails('CONFLICT');
    (await execute(CreateTeam, { as: t.keys.write, variables: { input: { name: 'No', slug: 'nope-nope' } } })).fails('FORBIDDEN');
    const bad = await execute(CreateTeam, { as: t.keys.admin, variables: { input: { name: 'Bad', slug: 'Bad Slug' } } });
    expect(bad.fails('BAD_USER_INPUT').extensions!.fields).toEqual([{ path: 'input.slug', message: 'must be lowercase letters, digits and dashes' }]);
  });

  test('updateTeam changes settings and SLA targets; another team’s ID is NOT_FOUND', async () => {
    const t = await createTeam();
    const other = await createTeam();
    const res = (
      await execute(UpdateTeam, {
        as: t.keys.admin,
        variables: {
          input: {
            id: t.teamId,
            name: 'Renamed',
            supportEmail: 'Help@Renamed.test',
            acceptsPublicTickets: true,
            slaTargets: [{ priority: 'LOW', firstResponseMinutes: 60, resolutionMinutes: 600 }],
          },
        },
      })
    ).ok().updateTeam.team;
    expect(res).toMatchObject({ name: 'Renamed', supportEmail: 'help@renamed.test', acceptsPublicTickets: true });
    expect(res.slaTargets[0]).toEqual({ priority: 'LOW', firstResponseMinutes: 60, resolutionMinutes: 600 });
    const low = await newTicket(t.keys.write, { title: 'low', priority: 'LOW' });
    expect(Date.parse(low.responseDeadline!) - Date.parse(low.createdAt)).toBe(60 * 60_000);

    (await execute(UpdateTeam, { as: t.keys.admin, variables: { input: { id: other.teamId, name: 'Hijack' } } })).fails('NOT_FOUND');
    (await execute(UpdateTeam, { as: t.keys.admin, variables: { input: { id: t.teamId, slug: other.team.slug } } })).fails('CONFLICT');
    (await execute(UpdateTeam, { as: t.tokens.agent, variables: { input: { id: t.teamId, name: 'x' } } })).fails('FORBIDDEN');
  });

  test('deleteTeam removes the team and everything in it', async () => {
    const t = await createTeam();
    await newTicket(t.keys.write, { title: 'gone', body: 'with me' });
    (await execute(DeleteTeam, { as: t.keys.admin, variables: { input: { id: encodeId('Team', t.team.id) } } })).ok();
    const { db } = testApp();
    expect(await db.ticket.count({ where: { teamId: t.team.id } })).toBe(0);
    expect(await db.agent.count({ where: { teamId: t.team.id } })).toBe(0);
    (await execute(TeamQuery, { as: t.keys.admin })).fails('UNAUTHENTICATED'); // its keys are gone
  });
});
