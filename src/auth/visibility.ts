// The one place that decides which rows a viewer may see. Every read path
// (queries, node lookups, connections, counts) filters with these clauses.
import { isStaff, type Viewer } from './viewer.js';
import { Prisma } from '../generated/prisma/client.js';

// Matches no row: the team of an anonymous viewer.
/** A team id no row has: what a viewer of no team is matched against. */
export const NO_TEAM = '00000000-0000-0000-0000-000000000000';

const teamOf = (viewer: Viewer) => viewer.teamId ?? NO_TEAM;

export const visibleTeams = (viewer: Viewer): Prisma.TeamWhereInput => ({ id: teamOf(viewer) });

export const visibleTickets = (viewer: Viewer): Prisma.TicketWhereInput =>
  viewer.role === 'CUSTOMER'
    ? { teamId: teamOf(viewer), customerId: viewer.customerId ?? NO_TEAM }
    : { teamId: teamOf(viewer) };

/**
 * The same rule as visibleTickets, as SQL over the `tickets` table (hand-written
 * statements); `alias` qualifies the columns in statements that join other tables.
 */
export const visibleTicketsSql = (viewer: Viewer, alias?: 't'): Prisma.Sql => {
  const col = (name: string) => Prisma.raw(alias ? `${alias}.${name}` : name);
  return viewer.role === 'CUSTOMER'
    ? Prisma.sql`${col('team_id')} = ${teamOf(viewer)}::uuid AND ${col('customer_id')} = ${viewer.customerId ?? NO_TEAM}::uuid`
    : Prisma.sql`${col('team_id')} = ${teamOf(viewer)}::uuid`;
};

export const visibleMessages = (viewer: Viewer): Prisma.MessageWhereInput =>
  viewer.role === 'CUSTOMER'
    ? { isInternal: false, ticket: visibleTickets(viewer) }
    : { ticket: visibleTickets(viewer) };

/**
 * The same rule as visibleMessages, as SQL over `messages m`: staff by the message's own
 * team_id (no look-up of its ticket), customers the public messages of their tickets.
 */
export const visibleMessagesSql = (viewer: Viewer): Prisma.Sql => {
  const team = Prisma.sql`m.team_id = ${teamOf(viewer)}::uuid`;
  if (isStaff(viewer)) return team;
  const customer = viewer.role === 'CUSTOMER' ? (viewer.customerId ?? NO_TEAM) : NO_TEAM;
  return Prisma.sql`${team} AND m.is_internal = false
    AND EXISTS (SELECT 1 FROM tickets vt WHERE vt.id = m.ticket_id AND vt.team_id = ${teamOf(viewer)}::uuid AND vt.customer_id = ${customer}::uuid)`;
};

export const visibleCustomers = (viewer: Viewer): Prisma.CustomerWhereInput =>
  viewer.role === 'CUSTOMER'
    ? { teamId: teamOf(viewer), id: viewer.customerId ?? NO_TEAM }
    : { teamId: teamOf(viewer) };

export const visibleAgents = (viewer: Viewer): Prisma.AgentWhereInput => ({ teamId: teamOf(viewer) });

export const visibleApiKeys = (viewer: Viewer): Prisma.ApiKeyWhereInput => ({ teamId: teamOf(viewer) });

/**
 * Ticket fields only staff may see, also in the changedFields of events (mergedFrom: the
 * tickets merged into this one, which may be other customers').
 */
export const STAFF_ONLY_TICKET_FIELDS: ReadonlySet<string> = new Set(['notes', 'metadata', 'mergedFrom']);
const CUSTOMER_VISIBLE_TICKET_FIELDS = ['title', 'status', 'priority', 'category', 'tags', 'assigneeId'];

/**
 * Events: staff see their team's; a customer sees those of their own tickets,
 * except internal notes and updates that changed only staff fields.
 */
export const visibleEvents = (viewer: Viewer): Prisma.TicketEventWhereInput => {
  if (isStaff(viewer)) return { teamId: teamOf(viewer) };
  if (viewer.role !== 'CUSTOMER') return { teamId: NO_TEAM };
  return {
    teamId: teamOf(viewer),
    customerId: viewer.customerId ?? NO_TEAM,
    isInternal: false,
    OR: [{ type: { not: 'UPDATED' } }, { changedFields: { hasSome: CUSTOMER_VISIBLE_TICKET_FIELDS } }],
  };
};

/** The same rule as visibleEvents, for an event in memory (live delivery). */
export function canSeeEvent(
  viewer: Viewer,
  event: { teamId: string; customerId: string | null; isInternal: boolean; type: string; changedFields: readonly string[] },
): boolean {
  if (event.teamId !== viewer.teamId) return false;
  if (isStaff(viewer)) return true;
  if (viewer.role !== 'CUSTOMER' || event.customerId !== viewer.customerId || event.isInternal) return false;
  return event.type !== 'UPDATED' || visibleChangedFields(viewer, event.changedFields).length > 0;
}

/** The changed fields of an event that the viewer may know about. */
export function visibleChangedFields(viewer: Viewer, fields: readonly string[]): string[] {
  return isStaff(viewer) ? [...fields] : fields.filter((f) => !STAFF_ONLY_TICKET_FIELDS.has(f));
}

export const visibleWebhookEndpoints = (viewer: Viewer): Prisma.WebhookEndpointWhereInput =>
  isStaff(viewer) ? { teamId: teamOf(viewer) } : { teamId: NO_TEAM };

/**
 * Everything about a viewer that what they may see depends on: the rules above, and
 * the auth scopes (role, scopes) of builder.ts. Live subscribers with equal keys and
 * equal operations receive one shared result per event (live.ts), so a resolver that
 * reads any other fact of the viewer must add it here. (`assignedToMe`, which reads
 * the agent, is a filter of Query.tickets only, which no subscription can reach.)
 */
export function visibilityKey(viewer: Viewer): string {
  return [viewer.role, viewer.teamId ?? '', viewer.role === 'CUSTOMER' ? (viewer.customerId ?? '') : '', [...viewer.scopes].sort().join(',')].join('|');
}
