// `ticket(id)` without relations reads its row with one hand-written, prepared statement
// (domain/tickets.ts, visibleTicket). It must answer what the Prisma path answers, for
// every kind of viewer, and hide what Prisma's visibility rule hides.
import { describe, expect } from 'vitest';
import type { Viewer } from '../src/auth/viewer.js';
import { visibleTickets } from '../src/auth/visibility.js';
import { visibleTicket } from '../src/domain/tickets.js';
import { graphql } from './generated/index.js';
import { execute } from './support/app.js';
import { test } from './support/fixtures.js';

const TicketById = graphql(`
  query TicketByIdColumns($id: ID!) {
    ticket(id: $id) { id number title status priority category tags notes metadata createdAt updatedAt messageCount }
  }
`);
const TicketWithCustomer = graphql(`
  query TicketByIdWithCustomer($id: ID!) {
    ticket(id: $id) { id title customer { name } }
  }
`);

describe('a ticket by ID, read by its own statement', () => {
  test('returns what Prisma reads for every viewer, and nothing to those who may not see it', async ({ team, otherTeam, customer, app: { db } }) => {
    const own = await db.ticket.create({
      data: { teamId: team.team.id, number: 1001, title: 'Own', customerId: customer.uuid, tags: ['a'], notes: 'staff only', metadata: { k: 'v' }, updatedAt: new Date() },
    });
    const someoneElse = await db.customer.create({ data: { teamId: team.team.id, name: 'Other', email: `other-${own.id}@x.test` } });
    const theirs = await db.ticket.create({ data: { teamId: team.team.id, number: 1002, title: 'Theirs', customerId: someoneElse.id, updatedAt: new Date() } });
    const viewers: Record<string, Viewer> = {
      agent: { role: 'AGENT', teamId: team.team.id, agentId: team.agent.id, scopes: new Set(['READ']) },
      apiKey: { role: 'ADMIN', teamId: team.team.id, apiKeyId: '00000000-0000-0000-0000-000000000001', scopes: new Set(['READ']) },
      customer: { role: 'CUSTOMER', teamId: team.team.id, customerId: customer.uuid, scopes: new Set(['READ']) },
      otherTeam: { role: 'ADMIN', teamId: otherTeam.team.id, agentId: otherTeam.admin.id, scopes: new Set(['READ']) },
    };
    const seen: Record<string, string[]> = {};
    for (const [who, viewer] of Object.entries(viewers)) {
      seen[who] = [];
      for (const ticket of [own, theirs]) {
        const mine = await visibleTicket(db, viewer, ticket.id);
        const prisma = await db.ticket.findFirst({ where: { id: ticket.id, AND: [visibleTickets(viewer)] } });
        expect(mine ?? null).toEqual(prisma);
        if (mine) seen[who].push(mine.title);
      }
    }
    expect(seen).toEqual({ agent: ['Own', 'Theirs'], apiKey: ['Own', 'Theirs'], customer: ['Own'], otherTeam: [] });
  });

  test('over the API: one statement without relations, Prisma with them; the same answers, notes for staff only', async ({ team, otherTeam, ticket, app: { sql } }) => {
    sql.length = 0;
    const staff = (await execute(TicketById, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket;
    const own = sql.filter((q) => q.includes('FROM tickets t WHERE t.id = $1'));
    expect(own).toHaveLength(1);
    expect(staff).toMatchObject({ id: ticket.id, title: 'Printer on fire', status: 'NEW', priority: 'NORMAL', tags: [], metadata: {}, messageCount: 1 });

    const asCustomer = await execute(TicketById, { as: team.tokens.customer, variables: { id: ticket.id } });
    expect(asCustomer.data?.ticket).toMatchObject({ id: ticket.id, title: 'Printer on fire', notes: null });
    expect(asCustomer.errors?.map((e) => e.path?.join('.'))).toContain('ticket.notes');

    const elsewhere = await execute(TicketById, { as: otherTeam.keys.read, variables: { id: ticket.id } });
    expect(elsewhere.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');

    sql.length = 0;
    const withCustomer = (await execute(TicketWithCustomer, { as: team.keys.read, variables: { id: ticket.id } })).ok().ticket;
    expect(withCustomer).toEqual({ id: ticket.id, title: 'Printer on fire', customer: { name: 'Jane Doe' } });
    expect(sql.filter((q) => q.includes('FROM tickets t WHERE t.id = $1'))).toHaveLength(0);
  });
});
