import { SignJWT } from 'jose';
import { describe, expect } from 'vitest';
import { signToken } from '../src/auth/tokens.js';
import { encodeId } from '../src/ids.js';
import { graphql } from './generated/index.js';
import { JWT_SECRET, startOtherApp } from './support/app.js';
import { CreateTicket, GetTicket } from './support/operations.js';
import { eventually } from './support/wait.js';
import { SECRETS, test } from './support/world.js';

const CustomerTicket = graphql(`
  query CustomerTicket($id: ID!) {
    ticket(id: $id) {
      title
      messageCount
      messages(first: 10) { totalCount edges { node { body isInternal } } }
    }
  }
`);
const StaffField = graphql(`
  query StaffField($id: ID!) { ticket(id: $id) { title notes metadata responseDeadline slaBreached events(first: 5) { edges { node { type } } } } }
`);
const Who = graphql(`
  query Who { viewer { role name scopes customer { id email name } agent { id } } }
`);
const Keys = graphql(`
  mutation NewKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret apiKey { id name scopes mode prefix createdAt lastUsedAt revokedAt } } }
`);
const ListKeys = graphql(`
  query ListKeys { apiKeys(first: 50) { edges { node { id name scopes mode prefix lastUsedAt revokedAt } } } }
`);
const Revoke = graphql(`
  mutation Revoke($input: RevokeApiKeyInput!) { revokeApiKey(input: $input) { apiKey { id revokedAt } } }
`);
const CustomerCreate = graphql(`
  mutation CustomerCreate($input: CreateTicketInput!) {
    createTicket(input: $input) { ticket { id status customer { email } assignee { id } } }
  }
`);
const CustomerReply = graphql(`
  mutation CustomerReply($input: AddMessageInput!) {
    addMessage(input: $input) { message { sender isInternal author { __typename } } ticket { messageCount } }
  }
`);
const PublicTicket = graphql(`
  mutation PublicTicket($input: CreateTicketInput!) { createTicket(input: $input) { ticketId ticket { id } } }
`);

describe('customers', () => {
  test('see their ticket without internal notes; messageCount and totalCount count public messages', async ({ world, execute }) => {
    const data = (await execute(CustomerTicket, { as: world.credentials.owner, variables: { id: world.ids.ticket } })).ok().ticket!;
    expect(data).toEqual({
      title: 'Owner ticket',
      messageCount: 2,
      messages: {
        totalCount: 2,
        edges: [{ node: { body: 'Public question', isInternal: false } }, { node: { body: 'Public answer', isInternal: false } }],
      },
    });
    const staff = (await execute(CustomerTicket, { as: world.credentials.agentToken, variables: { id: world.ids.ticket } })).ok().ticket!;
    expect(staff.messageCount).toBe(3);
    expect(staff.messages.edges[1]!.node).toEqual({ body: SECRETS.internal, isInternal: true });
  });

  test('staff-only fields answer FORBIDDEN for customers, and show nothing', async ({ world, execute }) => {
    const res = await execute(StaffField, { as: world.credentials.owner, variables: { id: world.ids.ticket } });
    const paths = res.errors!.map((e) => e.path!.join('.')).sort();
    expect(paths).toEqual(['ticket.events', 'ticket.metadata', 'ticket.notes', 'ticket.responseDeadline', 'ticket.slaBreached']);
    expect(res.errors!.every((e) => e.extensions!.code === 'FORBIDDEN')).toBe(true);
    expect(res.data!.ticket).toEqual({ title: 'Owner ticket', notes: null, metadata: null, responseDeadline: null, slaBreached: null, events: null });
    expect(JSON.stringify(res)).not.toContain(SECRETS.notes);
    const staff = (await execute(StaffField, { as: world.credentials.agentToken, variables: { id: world.ids.ticket } })).ok().ticket!;
    expect(staff.notes).toBe(SECRETS.notes);
  });

  test('create tickets for themselves only, and add public messages only', async ({ world, app, execute }) => {
    const res = await execute(CustomerCreate, {
      as: world.credentials.owner,
      variables: {
        input: {
          title: 'Mine',
          body: 'Help me',
          customer: { email: 'someone-else@example.com' },
          customerId: encodeId('Customer', world.b.customer.id),
          notes: 'sneaky',
          metadata: { x: 'y' },
          status: 'CLOSED',
          assigneeId: encodeId('Agent', world.a.agent.id),
        },
      },
    });
    const ticket = res.ok().createTicket.ticket!;
    expect(ticket.customer!.email).toBe(world.a.customer.email);
    expect(ticket.status).toBe('NEW');
    expect(ticket.assignee).toBeNull();
    const row = await app.db.ticket.findFirstOrThrow({ where: { title: 'Mine', teamId: world.a.team.id } });
    expect(row).toMatchObject({ notes: null, metadata: {}, customerId: world.a.customer.id });

    const internal = await execute(CustomerReply, { as: world.credentials.owner, variables: { input: { ticketId: world.ids.ticket, body: 'x', isInternal: true } } });
    internal.fails('FORBIDDEN');
    const asAgent = await execute(CustomerReply, { as: world.credentials.owner, variables: { input: { ticketId: world.ids.ticket, body: 'x', sender: 'AGENT' } } });
    asAgent.fails('FORBIDDEN');
    const reply = (await execute(CustomerReply, { as: world.credentials.owner, variables: { input: { ticketId: world.ids.ticket, body: 'Thanks' } } })).ok();
    expect(reply.addMessage.message).toEqual({ sender: 'CUSTOMER', isInternal: false, author: { __typename: 'Customer' } });
    // The payload's ticket is seen through the customer's eyes too: public messages only.
    expect(reply.addMessage.ticket.messageCount).toBe(3);
  });

  test('another customer’s ticket is NOT_FOUND, and never listed', async ({ world, execute }) => {
    (await execute(CustomerTicket, { as: world.credentials.otherCustomer, variables: { id: world.ids.ticket } })).fails('NOT_FOUND');
    (await execute(CustomerReply, { as: world.credentials.otherCustomer, variables: { input: { ticketId: world.ids.ticket, body: 'hi' } } })).fails('NOT_FOUND');
  });
});

describe('tokens', () => {
  test('a customer token maps to the customer with that email, created on first use', async ({ team, execute }) => {
    const token = await signToken(JWT_SECRET, { sub: 'ext-1', team: team.teamId, role: 'customer', email: 'First.Timer@Example.com', name: 'First Timer' });
    const who = (await execute(Who, { as: token })).ok().viewer;
    expect(who).toMatchObject({ role: 'CUSTOMER', name: 'First Timer', scopes: ['READ', 'WRITE'], agent: null });
    expect(who.customer).toMatchObject({ email: 'first.timer@example.com', name: 'First Timer' });
    const again = (await execute(Who, { as: token })).ok().viewer;
    expect(again.customer!.id).toBe(who.customer!.id);
  });

  test('an admin token for an agent who is not an admin acts as an agent', async ({ team, agent, execute }) => {
    const token = await signToken(JWT_SECRET, { sub: agent.id, team: team.teamId, role: 'admin', email: agent.email });
    expect((await execute(Who, { as: token })).ok().viewer.role).toBe('AGENT');
  });

  test('expired, badly signed, malformed or unknown: UNAUTHENTICATED with the same message', async ({ team, agent, execute }) => {
    const claims = { team: team.teamId, role: 'agent', email: agent.email };
    const key = (s: string) => new TextEncoder().encode(s);
    const expired = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(key(JWT_SECRET));
    const wrongSecret = await signToken('another-secret-another-secret-0123456789', { sub: 'x', ...claims, role: 'agent' });
    const noExp = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').sign(key(JWT_SECRET));
    const unknownAgent = await signToken(JWT_SECRET, { sub: 'nobody', team: team.teamId, role: 'agent', email: 'nobody@example.com' });
    const unknownTeam = await signToken(JWT_SECRET, { sub: 'x', team: encodeId('Team', '00000000-0000-7000-8000-000000000000'), role: 'customer', email: 'a@b.c' });
    const alg = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ ...claims, sub: 'x', exp: 9999999999 })).toString('base64url')}.`;
    for (const token of [expired, wrongSecret, noExp, unknownAgent, unknownTeam, alg, 'a.b.c', 'garbage']) {
      const res = await execute(Who, { as: token });
      expect(res.fails('UNAUTHENTICATED').message).toBe('Invalid or expired token');
      expect(res.data ?? null).toBeNull();
    }
  });
});

describe('API keys', () => {
  test('createApiKey shows the secret once; apiKeys never shows it; revoking fails the key at once', async ({ team, execute }) => {
    const created = (await execute(Keys, { as: team.keys.admin, variables: { input: { name: 'Zapier', scopes: ['READ', 'WRITE', 'READ'], mode: 'TEST' } } })).ok()
      .createApiKey;
    expect(created.secret).toMatch(/^sk_test_[0-9A-Za-z]{32}$/);
    expect(created.apiKey).toMatchObject({ name: 'Zapier', scopes: ['READ', 'WRITE'], mode: 'TEST', prefix: created.secret.slice(0, 12), lastUsedAt: null, revokedAt: null });

    expect((await execute(Who, { as: created.secret })).ok().viewer.role).toBe('AGENT');
    // lastUsedAt is written off the request's path (auth/viewer.ts): it lands shortly after.
    const listed = await eventually(async () => {
      const nodes = (await execute(ListKeys, { as: team.keys.admin })).ok().apiKeys.edges.map((e) => e.node);
      return nodes.find((k) => k.id === created.apiKey.id)?.lastUsedAt ? nodes : undefined;
    });
    const mine = listed.find((k) => k.id === created.apiKey.id)!;
    expect(mine.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    const revoked = (await execute(Revoke, { as: team.keys.admin, variables: { input: { id: created.apiKey.id } } })).ok().revokeApiKey.apiKey;
    expect(revoked.revokedAt).not.toBeNull();
    expect((await execute(Who, { as: created.secret })).fails('UNAUTHENTICATED').message).toBe('Invalid API key');
  });

  test('each scope guards its operations: READ cannot write, WRITE cannot delete, only ADMIN manages', async ({ team, execute }) => {
    const ticket = (await execute(CreateTicket, { as: team.keys.write, variables: { input: { title: 'scoped' } } })).ok().createTicket.ticket!;
    (await execute(CreateTicket, { as: team.keys.read, variables: { input: { title: 'no' } } })).fails('FORBIDDEN');
    (await execute(GetTicket, { as: team.keys.read, variables: { id: ticket.id } })).ok();
    const DeleteTicket = graphql(`mutation ScopedDelete($input: DeleteTicketInput!) { deleteTicket(input: $input) { deletedTicketId } }`);
    (await execute(DeleteTicket, { as: team.keys.write, variables: { input: { id: ticket.id } } })).fails('FORBIDDEN');
    (await execute(ListKeys, { as: team.keys.write })).fails('FORBIDDEN');
    (await execute(Keys, { as: team.keys.write, variables: { input: { name: 'x', scopes: ['ADMIN'] } } })).fails('FORBIDDEN');
    const empty = await execute(Keys, { as: team.keys.admin, variables: { input: { name: 'x', scopes: [] } } });
    expect(empty.fails('BAD_USER_INPUT').extensions!.fields).toEqual([{ path: 'input.scopes', message: 'give at least one scope' }]);
  });
});

describe('anonymous callers', () => {
  test('may submit a ticket to a public team with an email, and get its ID only', async ({ publicTeam, execute }) => {
    const res = (await execute(PublicTicket, { variables: { input: { title: 'Anon', body: 'Hi', teamSlug: publicTeam.team.slug, customer: { email: 'Anon@Example.com' } } } })).ok();
    expect(res.createTicket.ticket).toBeNull();
    expect(res.createTicket.ticketId).toMatch(/^tkt_/);
    const staff = (await execute(GetTicket, { as: publicTeam.keys.read, variables: { id: res.createTicket.ticketId } })).ok().ticket!;
    expect(staff).toMatchObject({ title: 'Anon', status: 'NEW', customer: { email: 'anon@example.com' } });
  });

  test('a team without public submissions answers NOT_FOUND like a missing one; no email is BAD_USER_INPUT; no slug is UNAUTHENTICATED', async ({ team: closed, publicTeam: open, app: { db }, execute }) => {
    // A team that refuses public tickets answers exactly as one that does not exist.
    const refused = (await execute(PublicTicket, { variables: { input: { title: 'x', teamSlug: closed.team.slug, customer: { email: 'a@b.co' } } } })).fails('NOT_FOUND');
    const missing = (await execute(PublicTicket, { variables: { input: { title: 'x', teamSlug: 'no-such-team-either', customer: { email: 'a@b.co' } } } })).fails('NOT_FOUND');
    expect(refused.message).toBe(missing.message);
    (await execute(PublicTicket, { variables: { input: { title: 'x', teamSlug: open.team.slug } } })).fails('BAD_USER_INPUT');
    (await execute(PublicTicket, { variables: { input: { title: 'x', customer: { email: 'a@b.co' } } } })).fails('UNAUTHENTICATED');
    (await execute(PublicTicket, { variables: { input: { title: 'x', teamSlug: 'no-such-team', customer: { email: 'a@b.co' } } } })).fails('NOT_FOUND');
    expect(await db.ticket.count({ where: { teamId: { in: [closed.team.id, open.team.id] } } })).toBe(0);
  });

  test('submissions are limited per client IP', async ({ publicTeam }) => {
    const { db, base } = await startOtherApp({ publicTicketsPerHour: 2, trustProxy: true });
    const submit = async (ip: string) => {
      const res = await fetch(`${base}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({
          query: 'mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }',
          variables: { input: { title: 'spam?', teamSlug: publicTeam.team.slug, customer: { email: 'a@b.co' } } },
        }),
      });
      return (await res.json()) as { data: unknown; errors?: Array<{ extensions: { code: string; retryAfter: number; resetAt: string } }> };
    };
    expect((await submit('203.0.113.7')).errors).toBeUndefined();
    expect((await submit('203.0.113.7')).errors).toBeUndefined();
    const third = await submit('203.0.113.7');
    expect(third.errors![0]!.extensions).toMatchObject({ code: 'RATE_LIMITED', retryAfter: expect.any(Number) });
    expect(third.errors![0]!.extensions.retryAfter).toBeGreaterThan(3500);
    expect((await submit('198.51.100.1')).errors).toBeUndefined();
    expect(await db.ticket.count({ where: { teamId: publicTeam.team.id } })).toBe(3);
  });
});
