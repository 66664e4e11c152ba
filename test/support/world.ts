// Two teams and every kind of caller, for tests of who may see and do what.
import { randomUUID } from 'node:crypto';
import { signToken } from '../../src/auth/tokens.js';
import { encodeId } from '../../src/ids.js';
import { JWT_SECRET, testApp } from './app.js';
import { createTeam, test as teamTest } from './fixtures.js';

/** Strings that must never reach a customer or an anonymous caller. */
export const SECRETS = { internal: 'INTERNAL-NOTE-7f3a', notes: 'STAFF-NOTES-9c1e', metadata: 'META-VALUE-2b8d' };

export const ROLES = ['adminKey', 'readKey', 'agentToken', 'owner', 'otherCustomer', 'anonymous', 'foreignAdmin'] as const;
export type Role = (typeof ROLES)[number];

export async function createWorld() {
  const a = await createTeam({ acceptsPublicTickets: true });
  const b = await createTeam();
  const { db } = testApp();
  const other = await db.customer.create({ data: { teamId: a.team.id, name: 'Otto Other', email: `otto@${a.team.slug}.test` } });
  const ticket = await db.ticket.create({
    data: {
      teamId: a.team.id,
      number: 1,
      title: 'Owner ticket',
      customerId: a.customer.id,
      notes: SECRETS.notes,
      metadata: { crm: SECRETS.metadata },
      messageCount: 3,
      publicMessageCount: 2,
      messages: {
        create: [
          { sender: 'CUSTOMER', body: 'Public question', authorCustomerId: a.customer.id },
          { sender: 'AGENT', body: SECRETS.internal, isInternal: true, authorAgentId: a.agent.id },
          { sender: 'AGENT', body: 'Public answer', authorAgentId: a.agent.id },
        ],
      },
    },
  });
  // A file on the internal note (its name is a secret) and one on the public answer.
  const messages = await db.message.findMany({ where: { ticketId: ticket.id }, select: { id: true, body: true } });
  const file = (body: string, filename: string) => {
    const messageId = messages.find((m) => m.body === body)!.id;
    const id = randomUUID();
    return { id, teamId: a.team.id, messageId, uploader: 'world', filename, contentType: 'image/png', byteSize: 68, checksum: '0'.repeat(64), storageKey: `${a.team.id}/${id}`, storedAt: new Date() };
  };
  await db.attachment.createMany({ data: [file(SECRETS.internal, `${SECRETS.internal}.png`), file('Public answer', 'public-answer.png')] });
  const created = await db.ticketEvent.create({
    data: { seq: 1, teamId: a.team.id, ticketId: ticket.id, customerId: a.customer.id, type: 'CREATED', actor: { kind: 'system' } },
  });
  await db.team.update({ where: { id: a.team.id }, data: { ticketSeq: 1, eventSeq: 1 } });
  const readKey = await db.apiKey.findFirstOrThrow({ where: { teamId: a.team.id, name: 'READ' } });
  const endpoint = await db.webhookEndpoint.create({
    data: { teamId: a.team.id, url: 'http://localhost:9/hooks', events: ['ticket.created'], secret: 'whsec_dGVzdA==' },
  });
  const delivery = await db.webhookDelivery.create({
    data: { endpointId: endpoint.id, eventId: created.id, eventType: 'ticket.created', attempt: 1, payload: { id: 'evt_x' }, error: 'HTTP 500' },
  });
  const otherToken = await signToken(JWT_SECRET, { sub: 'otto', team: a.teamId, role: 'customer', email: other.email }, '1h');

  const credentials: Record<Role, string | undefined> = {
    adminKey: a.keys.admin,
    readKey: a.keys.read,
    agentToken: a.tokens.agent,
    owner: a.tokens.customer,
    otherCustomer: otherToken,
    anonymous: undefined,
    foreignAdmin: b.keys.admin,
  };
  return {
    a,
    b,
    credentials,
    ids: {
      team: a.teamId,
      ticket: encodeId('Ticket', ticket.id),
      owner: encodeId('Customer', a.customer.id),
      agent: encodeId('Agent', a.agent.id),
      readKey: encodeId('ApiKey', readKey.id),
      endpoint: encodeId('WebhookEndpoint', endpoint.id),
      delivery: encodeId('WebhookDelivery', delivery.id),
    },
  };
}

export type World = Awaited<ReturnType<typeof createWorld>>;

/** The suite's fixtures (fixtures.ts) and `world`: two teams and every kind of caller. */
export const test = teamTest.extend('world', () => createWorld());
