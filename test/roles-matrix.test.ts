// Every query and mutation of the schema × every kind of caller → the expected
// outcome. The matrix is driven from the schema: an operation without an entry
// fails the test. No response to a customer or anonymous caller may contain an
// internal note, staff notes or metadata.
import { parse, type DocumentNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { describe, expect, test } from 'vitest';
import { schema } from '../src/schema/index.js';
import { encodeId } from '../src/ids.js';
import { execute, testApp } from './support/app.js';
import { createWorld, ROLES, SECRETS, type Role, type World } from './support/world.js';

type Outcome = 'ok' | 'null' | 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND';
type Entry = {
  /** The operation, calling the field once. */
  document: string;
  variables?: (w: World) => Record<string, unknown> | Promise<Record<string, unknown>>;
  expect: Record<Role, Outcome>;
};

const F = 'FORBIDDEN' as const;
const U = 'UNAUTHENTICATED' as const;
const NF = 'NOT_FOUND' as const;

/** Outcomes in ROLES order: adminKey, readKey, agentToken, owner, otherCustomer, anonymous, foreignAdmin. */
const o = (...outcomes: Outcome[]): Record<Role, Outcome> =>
  Object.fromEntries(ROLES.map((role, i) => [role, outcomes[i]!])) as Record<Role, Outcome>;

const TICKET_VIEW = 'id title messageCount messages(first: 10) { totalCount edges { node { body isInternal attachments { id filename url } } } } presence { ticketId entries { kind state name participantId since expiresAt } }';

const queries: Record<string, Entry> = {
  viewer: { document: '{ viewer { role team { slug } } }', expect: o('ok', 'ok', 'ok', 'ok', 'ok', U, 'ok') },
  team: { document: '{ team { id name presenceShowsAgentNames } }', expect: o('ok', 'ok', 'ok', 'ok', 'ok', U, 'ok') },
  rateLimit: { document: '{ rateLimit { cost limit remaining resetAt } }', expect: o('ok', 'ok', 'ok', 'ok', 'ok', U, 'ok') },
  node: {
    document: `query($id: ID!) { node(id: $id) { id ... on Ticket { ${TICKET_VIEW} } } }`,
    variables: (w) => ({ id: w.ids.ticket }),
    expect: o('ok', 'ok', 'ok', 'ok', 'null', U, 'null'),
  },
  nodes: {
    document: `query($ids: [ID!]!) { nodes(ids: $ids) { id ... on Ticket { ${TICKET_VIEW} } } }`,
    variables: (w) => ({ ids: [w.ids.ticket, w.ids.owner] }),
    expect: o('ok', 'ok', 'ok', 'ok', 'null', U, 'null'),
  },
  ticket: {
    document: `query($id: ID!) { ticket(id: $id) { ${TICKET_VIEW} customer { email } } }`,
    variables: (w) => ({ id: w.ids.ticket }),
    expect: o('ok', 'ok', 'ok', 'ok', NF, U, NF),
  },
  tickets: {
    document: `{ tickets(first: 10, filter: { updatedAfter: "2000-01-01T00:00:00Z", updatedBefore: "2100-01-01T00:00:00Z" }) { totalCount edges { node { ${TICKET_VIEW} mergedInto { id } } } } }`,
    expect: o('ok', 'ok', 'ok', 'ok', 'ok', U, 'ok'),
  },
  events: {
    document: '{ events(first: 10) { edges { cursor node { cursor type changedFields message { body isInternal } ticket { id title } } } pageInfo { endCursor } } }',
    expect: o('ok', 'ok', 'ok', 'ok', 'ok', U, 'ok'),
  },
  bulkJob: {
    document: 'query($id: ID!) { bulkJob(id: $id) { id total done failed finished errors { ticketId code } } }',
    variables: async (w) => {
      const job = await testApp().db.bulkJob.create({ data: { teamId: w.a.team.id, viewer: {}, patch: {}, ticketIds: [], total: 0, finishedAt: new Date() } });
      return { id: encodeId('BulkJob', job.id) };
    },
    expect: o('ok', 'ok', 'ok', F, F, U, NF),
  },
  customer: {
    document: 'query($id: ID!) { customer(id: $id) { id email tickets(first: 5) { totalCount } } }',
    variables: (w) => ({ id: w.ids.owner }),
    expect: o('ok', 'ok', 'ok', 'ok', NF, U, NF),
  },
  customers: {
    document: '{ customers(first: 10) { totalCount edges { node { email } } } }',
    expect: o('ok', 'ok', 'ok', 'ok', 'ok', U, 'ok'),
  },
  agent: {
    document: 'query($id: ID!) { agent(id: $id) { id name email } }',
    variables: (w) => ({ id: w.ids.agent }),
    expect: o('ok', 'ok', 'ok', F, F, U, NF),
  },
  agents: { document: '{ agents(first: 10) { totalCount } }', expect: o('ok', 'ok', 'ok', F, F, U, 'ok') },
  apiKeys: { document: '{ apiKeys(first: 10) { edges { node { id name } } } }', expect: o('ok', F, F, F, F, U, 'ok') },
  webhookEndpoints: { document: '{ webhookEndpoints(first: 10) { edges { node { id url } } } }', expect: o('ok', F, F, F, F, U, 'ok') },
  webhookDeliveries: {
    document: 'query($id: ID!) { webhookDeliveries(endpointId: $id, first: 10) { edges { node { id attempt } } } }',
    variables: (w) => ({ id: w.ids.endpoint }),
    expect: o('ok', F, F, F, F, U, NF),
  },
};

const mutations: Record<string, Entry> = {
  createTicket: {
    document: 'mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }',
    variables: (w) => ({ input: { title: 'Matrix ticket', body: 'hello', teamSlug: w.a.team.slug, customer: { email: 'matrix@example.com' } } }),
    expect: o('ok', F, 'ok', 'ok', 'ok', 'ok', 'ok'),
  },
  updateTicket: {
    document: 'mutation($input: UpdateTicketInput!) { updateTicket(input: $input) { cursor ticket { id title } } }',
    variables: (w) => ({ input: { id: w.ids.ticket, title: 'Renamed' } }),
    expect: o('ok', F, 'ok', F, F, U, NF),
  },
  bulkUpdateTickets: {
    document: 'mutation($input: BulkUpdateTicketsInput!) { bulkUpdateTickets(input: $input) { updatedIds updated { id title } errors { ticketId code } job { id } } }',
    variables: (w) => ({ input: { ids: [w.ids.ticket], patch: { priority: 'HIGH' } } }),
    expect: o('ok', F, 'ok', F, F, U, 'ok'),
  },
  cancelBulkJob: {
    document: 'mutation($input: CancelBulkJobInput!) { cancelBulkJob(input: $input) { bulkJob { id status skipped } } }',
    variables: async (w) => {
      // A job no worker takes (it has no queued job): it stays running until cancelled.
      const job = await testApp().db.bulkJob.create({ data: { teamId: w.a.team.id, viewer: {}, patch: {}, ticketIds: [], total: 0 } });
      return { input: { id: encodeId('BulkJob', job.id) } };
    },
    expect: o('ok', F, 'ok', F, F, U, NF),
  },
  mergeTickets: {
    document: 'mutation($input: MergeTicketsInput!) { mergeTickets(input: $input) { mergedTicketIds ticket { id title } } }',
    variables: async (w) => {
      const duplicate = await testApp().db.ticket.create({ data: { teamId: w.a.team.id, number: 2, title: 'Duplicate', customerId: w.a.customer.id } });
      return { input: { sourceIds: [encodeId('Ticket', duplicate.id)], targetId: w.ids.ticket } };
    },
    expect: o('ok', F, 'ok', F, F, U, NF),
  },
  deleteTicket: {
    document: 'mutation($input: DeleteTicketInput!) { deleteTicket(input: $input) { deletedTicketId } }',
    variables: (w) => ({ input: { id: w.ids.ticket } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  addMessage: {
    document: 'mutation($input: AddMessageInput!) { addMessage(input: $input) { cursor message { id body } ticket { id messageCount } } }',
    variables: (w) => ({ input: { ticketId: w.ids.ticket, body: 'A reply' } }),
    expect: o('ok', F, 'ok', 'ok', NF, U, NF),
  },
  createUpload: {
    document: 'mutation($input: CreateUploadInput!) { createUpload(input: $input) { uploadId uploadUrl expiresAt } }',
    variables: () => ({ input: { filename: 'shot.png', byteSize: 68, checksum: 'a'.repeat(64) } }),
    expect: o('ok', F, 'ok', 'ok', 'ok', U, 'ok'),
  },
  createCustomer: {
    document: 'mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { customer { id } } }',
    variables: () => ({ input: { email: 'new-customer@example.com' } }),
    expect: o('ok', F, 'ok', F, F, U, 'ok'),
  },
  updateCustomer: {
    document: 'mutation($input: UpdateCustomerInput!) { updateCustomer(input: $input) { customer { id name } } }',
    variables: (w) => ({ input: { id: w.ids.owner, name: 'Renamed' } }),
    expect: o('ok', F, 'ok', F, F, U, NF),
  },
  deleteCustomer: {
    document: 'mutation($input: DeleteCustomerInput!) { deleteCustomer(input: $input) { deletedCustomerId } }',
    variables: (w) => ({ input: { id: w.ids.owner } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  createAgent: {
    document: 'mutation($input: CreateAgentInput!) { createAgent(input: $input) { agent { id } } }',
    variables: () => ({ input: { name: 'New', email: 'new-agent@example.com' } }),
    expect: o('ok', F, F, F, F, U, 'ok'),
  },
  updateAgent: {
    document: 'mutation($input: UpdateAgentInput!) { updateAgent(input: $input) { agent { id name } } }',
    variables: (w) => ({ input: { id: w.ids.agent, name: 'Renamed' } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  deleteAgent: {
    document: 'mutation($input: DeleteAgentInput!) { deleteAgent(input: $input) { deletedAgentId } }',
    variables: (w) => ({ input: { id: w.ids.agent } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  createTeam: {
    document: 'mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } } }',
    variables: (w) => ({ input: { name: 'Spawned', slug: `spawned-${w.a.team.slug}` } }),
    expect: o('ok', F, F, F, F, U, 'ok'),
  },
  updateTeam: {
    document: 'mutation($input: UpdateTeamInput!) { updateTeam(input: $input) { team { id name } } }',
    variables: (w) => ({ input: { id: w.ids.team, name: 'Renamed' } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  deleteTeam: {
    document: 'mutation($input: DeleteTeamInput!) { deleteTeam(input: $input) { deletedTeamId } }',
    variables: (w) => ({ input: { id: w.ids.team } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  createApiKey: {
    document: 'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id } } }',
    variables: () => ({ input: { name: 'matrix', scopes: ['READ'] } }),
    expect: o('ok', F, F, F, F, U, 'ok'),
  },
  createWebhookEndpoint: {
    document: 'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret webhookEndpoint { id } } }',
    variables: () => ({ input: { url: 'https://hooks.example.com/t', events: ['ticket.created'] } }),
    expect: o('ok', F, F, F, F, U, 'ok'),
  },
  updateWebhookEndpoint: {
    document: 'mutation($input: UpdateWebhookEndpointInput!) { updateWebhookEndpoint(input: $input) { webhookEndpoint { id } } }',
    variables: (w) => ({ input: { id: w.ids.endpoint, description: 'changed' } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  rotateWebhookSecret: {
    document: 'mutation($input: RotateWebhookSecretInput!) { rotateWebhookSecret(input: $input) { signingSecret } }',
    variables: (w) => ({ input: { id: w.ids.endpoint } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  deleteWebhookEndpoint: {
    document: 'mutation($input: DeleteWebhookEndpointInput!) { deleteWebhookEndpoint(input: $input) { deletedWebhookEndpointId } }',
    variables: (w) => ({ input: { id: w.ids.endpoint } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  redeliverWebhook: {
    document: 'mutation($input: RedeliverWebhookInput!) { redeliverWebhook(input: $input) { attempt } }',
    variables: (w) => ({ input: { deliveryId: w.ids.delivery } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  replayWebhooks: {
    document: 'mutation($input: ReplayWebhooksInput!) { replayWebhooks(input: $input) { cursor queuedCount refusedCount lastCursor hasMore } }',
    variables: (w) => ({ input: { endpointId: w.ids.endpoint, after: '0' } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
  setPresence: {
    document:
      'mutation($input: SetPresenceInput!) { setPresence(input: $input) { cursor stored presence { ticketId entries { kind state name participantId } } } }',
    variables: (w) => ({ input: { ticketId: w.ids.ticket, state: 'VIEWING' } }),
    expect: o('ok', 'ok', 'ok', 'ok', NF, U, NF),
  },
  revokeApiKey: {
    document: 'mutation($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } } }',
    variables: (w) => ({ input: { id: w.ids.readKey } }),
    expect: o('ok', F, F, F, F, U, NF),
  },
};

const cases = [
  ...Object.entries(queries).map(([field, entry]) => ({ kind: 'query', field, entry })),
  ...Object.entries(mutations).map(([field, entry]) => ({ kind: 'mutation', field, entry })),
];

describe('roles matrix', () => {
  test('covers every query and mutation of the schema', () => {
    expect(Object.keys(queries).sort()).toEqual(Object.keys(schema.getQueryType()!.getFields()).sort());
    expect(Object.keys(mutations).sort()).toEqual(Object.keys(schema.getMutationType()!.getFields()).sort());
  });

  test.each(cases)('$kind $field', async ({ field, entry }) => {
    const document = parse(entry.document) as DocumentNode as TypedDocumentNode<Record<string, unknown>, Record<string, unknown>>;
    const failures: string[] = [];
    // A fresh world per caller: mutations of one caller never change what the next one meets.
    await Promise.all(
      ROLES.map(async (role) => {
        const world = await createWorld();
        const res = await execute(document, { as: world.credentials[role], variables: await entry.variables?.(world) });
        const value = res.data?.[field];
        const codes = (res.errors ?? []).map((e) => e.extensions?.code);
        const got: string =
          codes.length > 0 ? String(codes[0]) : value === null || value === undefined ? 'null' : Array.isArray(value) && value.every((v) => v === null) ? 'null' : 'ok';
        if (got !== entry.expect[role]) failures.push(`${role}: expected ${entry.expect[role]}, got ${got} ${JSON.stringify(res.errors ?? res.data)}`);
        const body = JSON.stringify(res);
        if (role === 'owner' || role === 'otherCustomer' || role === 'anonymous') {
          for (const secret of Object.values(SECRETS)) if (body.includes(secret)) failures.push(`${role}: response leaks ${secret}`);
        }
        if (role === 'otherCustomer' || role === 'anonymous' || role === 'foreignAdmin') {
          for (const foreign of ['Owner ticket', 'Public question', world.a.customer.email]) {
            if (body.includes(foreign)) failures.push(`${role}: response shows "${foreign}" of another customer or team`);
          }
        }
      }),
    );
    expect(failures).toEqual([]);
  });
});

describe('roles matrix: search', () => {
  // A word only an internal note has, a word of the public thread, the customer's email:
  // the hits and their count are the caller's, and another team matches nothing.
  const SEARCH = 'query($search: String!) { tickets(filter: { search: $search }, orderBy: { field: RELEVANCE, direction: DESC }) { totalCount edges { snippet matchedIn node { id } } } }';
  test.each([
    { search: SECRETS.internal, counts: o('ok', 'ok', 'ok', 'null', 'null', U, 'null') },
    { search: 'Public answer', counts: o('ok', 'ok', 'ok', 'ok', 'null', U, 'null') },
  ])('searching "$search"', async ({ search, counts }) => {
    const failures: string[] = [];
    await Promise.all(
      ROLES.map(async (role) => {
        const world = await createWorld();
        const res = await execute(parse(SEARCH) as TypedDocumentNode<{ tickets: { totalCount: number; edges: unknown[] } }, { search: string }>, {
          as: world.credentials[role],
          variables: { search },
        });
        const code = res.errors?.[0]?.extensions?.code;
        const total = res.data?.tickets.totalCount;
        const got = code ? String(code) : total === 1 && res.data?.tickets.edges.length === 1 ? 'ok' : total === 0 && res.data?.tickets.edges.length === 0 ? 'null' : `count ${total}`;
        if (got !== counts[role]) failures.push(`${role}: expected ${counts[role]}, got ${got} ${JSON.stringify(res.errors ?? res.data)}`);
        if (role !== 'adminKey' && role !== 'readKey' && role !== 'agentToken' && JSON.stringify(res).includes(SECRETS.internal)) failures.push(`${role}: leaks the note`);
      }),
    );
    expect(failures).toEqual([]);
  });
});
