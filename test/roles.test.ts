import { SignJWT } from 'jose';
import { describe, expect, test } from 'vitest';
import { inject } from 'vitest';
import { buildApp } from '../src/app.js';
import { signToken } from '../src/auth/tokens.js';
import { createDb } from '../src/db.js';
import { encodeId } from '../src/ids.js';
import { createLogger } from '../src/logger.js';
import { graphql } from './generated/index.js';
import { execute, JWT_SECRET, testApp } from './support/app.js';
import { createTeam } from './support/fixtures.js';
import { eventually } from './support/receivers.js';
import { CreateTicket, GetTicket } from './support/operations.js';
import { createWorld, SECRETS } from './support/world.js';

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
  test('see their ticket without internal notes; messageCount and totalCount count public messages', async () => {
    const w = await createWorld();
    const data = (await execute(CustomerTicket, { as: w.credentials.owner, variables: { id: w.ids.ticket } })).ok().ticket!;
    expect(data).toEqual({
      title: 'Owner ticket',
      messageCount: 2,
      messages: {
        totalCount: 2,
        edges: [{ node: { body: 'Public question', isInternal: false } }, { node: { body: 'Public answer', isInternal: false } }],
      },
    });
    const staff = (await execute(CustomerTicket, { as: w.credentials.agentToken, variables: { id: w.ids.ticket } })).ok().ticket!;
    expect(staff.messageCount).toBe(3);
    expect(staff.messages.edges[1]!.node).toEqual({ body: SECRETS.internal, isInternal: true });
  });

  test('staff-only fields answer FORBIDDEN for customers, and show nothing', async () => {
    const w = await createWorld();
    const res = await execute(StaffField, { as: w.credentials.owner, variables: { id: w.ids.ticket } });
    const paths = res.errors!.map((e) => e.path!.join('.')).sort();
    expect(paths).toEqual(['ticket.events', 'ticket.metadata', 'ticket.notes', 'ticket.responseDeadline', 'ticket.slaBreached']);
    expect(res.errors!.every((e) => e.extensions!.code === 'FORBIDDEN')).toBe(true);
    expect(res.data!.ticket).toEqual({ title: 'Owner ticket', notes: null, metadata: null, responseDeadline: null, slaBreached: null, events: null });
    expect(JSON.stringify(res)).not.toContain(SECRETS.notes);
    const staff = (await execute(StaffField, { as: w.credentials.agentToken, variables: { id: w.ids.ticket } })).ok().ticket!;
    expect(staff.notes).toBe(SECRETS.notes);
  });

  test('create tickets for themselves only, and add public messages only', async () => {
    const w = await createWorld();
    const res = await execute(CustomerCreate, {
      as: w.credentials.owner,
      variables: {
        input: {
          title: 'Mine',
          body: 'Help me',
          customer: { email: 'someone-else@example.com' },
          customerId: encodeId('Customer', w.b.customer.id),
          notes: 'sneaky',
          metadata: { x: 'y' },
          status: 'CLOSED',
          assigneeId: encodeId('Agent', w.a.agent.id),
        },
      },
    });
    const ticket = res.ok().createTicket.ticket!;
    expect(ticket.customer!.email).toBe(w.a.customer.email);
    expect(ticket.status).toBe('NEW');
    expect(ticket.assignee).toBeNull();
    const { db } = testApp();
    const row = await db.ticket.findFirstOrThrow({ where: { title: 'Mine', teamId: w.a.team.id } });
    expect(row).toMatchObject({ notes: null, metadata: {}, customerId: w.a.customer.id });

    const internal = await execute(CustomerReply, { as: w.credentials.owner, variables: { input: { ticketId: w.ids.ticket, body: 'x', isInternal: true } } });
    internal.fails('FORBIDDEN');
    const asAgent = await execute(CustomerReply, { as: w.credentials.owner, variables: { input: { ticketId: w.ids.ticket, body: 'x', sender: 'AGENT' } } });
    asAgent.fails('FORBIDDEN');
    const reply = (await execute(CustomerReply, { as: w.credentials.owner, variables: { input: { ticketId: w.ids.ticket, body: 'Thanks' } } })).ok();
    expect(reply.addMessage.message).toEqual({ sender: 'CUSTOMER', isInternal: false, author: { __typename: 'Customer' } });
    // The payload's ticket is seen through the customer's eyes too: public messages only.
    expect(reply.addMessage.ticket.messageCount).toBe(3);
  });

  test('another customer’s ticket is NOT_FOUND, and never listed', async () => {
    const w = await createWorld();
    (await execute(CustomerTicket, { as: w.credentials.otherCustomer, variables: { id: w.ids.ticket } })).fails('NOT_FOUND');
    (await execute(CustomerReply, { as: w.credentials.otherCustomer, variables: { input: { ticketId: w.ids.ticket, body: 'hi' } } })).fails('NOT_FOUND');
  });
});

describe('tokens', () => {
  test('a customer token maps to the customer with that email, created on first use', async () => {
    const t = await createTeam();
    const token = await signToken(JWT_SECRET, { sub: 'ext-1', team: t.teamId, role: 'customer', email: 'First.Timer@Example.com', name: 'First Timer' });
    const who = (await execute(Who, { as: token })).ok().viewer;
    expect(who).toMatchObject({ role: 'CUSTOMER', name: 'First Timer', scopes: ['READ', 'WRITE'], agent: null });
    expect(who.customer).toMatchObject({ email: 'first.timer@example.com', name: 'First Timer' });
    const again = (await execute(Who, { as: token })).ok().viewer;
    expect(again.customer!.id).toBe(who.customer!.id);
  });

  test('an admin token for an agent who is not an admin acts as an agent', async () => {
    const t = await createTeam();
    const token = await signToken(JWT_SECRET, { sub: encodeId('Agent', t.agent.id), team: t.teamId, role: 'admin', email: t.agent.email });
    expect((await execute(Who, { as: token })).ok().viewer.role).toBe('AGENT');
  });

  test('expired, badly signed, malformed or unknown: UNAUTHENTICATED with the same message', async () => {
    const t = await createTeam();
    const claims = { team: t.teamId, role: 'agent', email: t.agent.email };
    const key = (s: string) => new TextEncoder().encode(s);
    const expired = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').setExpirationTime(Math.floor(Date.now() / 1000) - 10).sign(key(JWT_SECRET));
    const wrongSecret = await signToken('another-secret-another-secret-0123456789', { sub: 'x', ...claims, role: 'agent' });
    const noExp = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('x').sign(key(JWT_SECRET));
    const unknownAgent = await signToken(JWT_SECRET, { sub: 'nobody', team: t.teamId, role: 'agent', email: 'nobody@example.com' });
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
  test('createApiKey shows the secret once; apiKeys never shows it; revoking fails the key at once', async () => {
    const t = await createTeam();
    const created = (await execute(Keys, { as: t.keys.admin, variables: { input: { name: 'Zapier', scopes: ['READ', 'WRITE', 'READ'], mode: 'TEST' } } })).ok()
      .createApiKey;
    expect(created.secret).toMatch(/^sk_test_[0-9A-Za-z]{32}$/);
    expect(created.apiKey).toMatchObject({ name: 'Zapier', scopes: ['READ', 'WRITE'], mode: 'TEST', prefix: created.secret.slice(0, 12), lastUsedAt: null, revokedAt: null });

    expect((await execute(Who, { as: created.secret })).ok().viewer.role).toBe('AGENT');
    // lastUsedAt is written off the request's path (auth/viewer.ts): it lands shortly after.
    const listed = await eventually(async () => {
      const nodes = (await execute(ListKeys, { as: t.keys.admin })).ok().apiKeys.edges.map((e) => e.node);
      return nodes.find((k) => k.id === created.apiKey.id)?.lastUsedAt ? nodes : undefined;
    });
    const mine = listed.find((k) => k.id === created.apiKey.id)!;
    expect(mine.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(listed)).not.toContain(created.secret);

    const revoked = (await execute(Revoke, { as: t.keys.admin, variables: { input: { id: created.apiKey.id } } })).ok().revokeApiKey.apiKey;
    expect(revoked.revokedAt).not.toBeNull();
    expect((await execute(Who, { as: created.secret })).fails('UNAUTHENTICATED').message).toBe('Invalid API key');
  });

  test('each scope guards its operations: READ cannot write, WRITE cannot delete, only ADMIN manages', async () => {
    const t = await createTeam();
    const ticket = (await execute(CreateTicket, { as: t.keys.write, variables: { input: { title: 'scoped' } } })).ok().createTicket.ticket!;
    (await execute(CreateTicket, { as: t.keys.read, variables: { input: { title: 'no' } } })).fails('FORBIDDEN');
    (await execute(GetTicket, { as: t.keys.read, variables: { id: ticket.id } })).ok();
    const DeleteTicket = graphql(`mutation ScopedDelete($input: DeleteTicketInput!) { deleteTicket(input: $input) { deletedTicketId } }`);
    (await execute(DeleteTicket, { as: t.keys.write, variables: { input: { id: ticket.id } } })).fails('FORBIDDEN');
    (await execute(ListKeys, { as: t.keys.write })).fails('FORBIDDEN');
    (await execute(Keys, { as: t.keys.write, variables: { input: { name: 'x', scopes: ['ADMIN'] } } })).fails('FORBIDDEN');
    const empty = await execute(Keys, { as: t.keys.admin, variables: { input: { name: 'x', scopes: [] } } });
    expect(empty.fails('BAD_USER_INPUT').extensions!.fields).toEqual([{ path: 'input.scopes', message: 'give at least one scope' }]);
  });
});

describe('anonymous callers', () => {
  test('may submit a ticket to a public team with an email, and get its ID only', async () => {
    const t = await createTeam({ acceptsPublicTickets: true });
    const res = (await execute(PublicTicket, { variables: { input: { title: 'Anon', body: 'Hi', teamSlug: t.team.slug, customer: { email: 'Anon@Example.com' } } } })).ok();
    expect(res.createTicket.ticket).toBeNull();
    expect(res.createTicket.ticketId).toMatch(/^tkt_/);
    const staff = (await execute(GetTicket, { as: t.keys.read, variables: { id: res.createTicket.ticketId } })).ok().ticket!;
    expect(staff).toMatchObject({ title: 'Anon', status: 'NEW', customer: { email: 'anon@example.com' } });
  });

  test('a team without public submissions is FORBIDDEN; no email is BAD_USER_INPUT; no slug is UNAUTHENTICATED', async () => {
    const closed = await createTeam();
    const open = await createTeam({ acceptsPublicTickets: true });
    // A team that refuses public tickets answers exactly as one that does not exist.
    const refused = (await execute(PublicTicket, { variables: { input: { title: 'x', teamSlug: closed.team.slug, customer: { email: 'a@b.co' } } } })).fails('NOT_FOUND');
    const missing = (await execute(PublicTicket, { variables: { input: { title: 'x', teamSlug: 'no-such-team-either', customer: { email: 'a@b.co' } } } })).fails('NOT_FOUND');
    expect(refused.message).toBe(missing.message);
    (await execute(PublicTicket, { variables: { input: { title: 'x', teamSlug: open.team.slug } } })).fails('BAD_USER_INPUT');
    (await execute(PublicTicket, { variables: { input: { title: 'x', customer: { email: 'a@b.co' } } } })).fails('UNAUTHENTICATED');
    (await execute(PublicTicket, { variables: { input: { title: 'x', teamSlug: 'no-such-team', customer: { email: 'a@b.co' } } } })).fails('NOT_FOUND');
    const { db } = testApp();
    expect(await db.ticket.count({ where: { teamId: { in: [closed.team.id, open.team.id] } } })).toBe(0);
  });

  test('submissions are limited per client IP', async () => {
    const t = await createTeam({ acceptsPublicTickets: true });
    const db = createDb(inject('databaseUrl'), 2);
    const app = buildApp({ db, log: createLogger('silent'), jwtSecret: JWT_SECRET, publicTicketsPerHour: 2, trustProxy: true });
    const base = await app.start(0);
    try {
      const submit = async (ip: string) => {
        const res = await fetch(`${base}/graphql`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
          body: JSON.stringify({
            query: 'mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }',
            variables: { input: { title: 'spam?', teamSlug: t.team.slug, customer: { email: 'a@b.co' } } },
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
      expect(await db.ticket.count({ where: { teamId: t.team.id } })).toBe(3);
    } finally {
      await app.stop();
      await db.$disconnect();
    }
  });
});
