// The one place that decides which rows a viewer may see. Every read path
// (queries, node lookups, connections, counts) filters with these clauses.
import type { Viewer } from './auth/viewer.js';
import type { Prisma } from './generated/prisma/client.js';

// Matches no row: the team of an anonymous viewer.
const NO_TEAM = '00000000-0000-0000-0000-000000000000';

const teamOf = (viewer: Viewer) => viewer.teamId ?? NO_TEAM;

export const visibleTeams = (viewer: Viewer): Prisma.TeamWhereInput => ({ id: teamOf(viewer) });

export const visibleTickets = (viewer: Viewer): Prisma.TicketWhereInput =>
  viewer.role === 'CUSTOMER'
    ? { teamId: teamOf(viewer), customerId: viewer.customerId ?? NO_TEAM }
    : { teamId: teamOf(viewer) };

export const visibleMessages = (viewer: Viewer): Prisma.MessageWhereInput =>
  viewer.role === 'CUSTOMER'
    ? { isInternal: false, ticket: visibleTickets(viewer) }
    : { ticket: visibleTickets(viewer) };

export const visibleCustomers = (viewer: Viewer): Prisma.CustomerWhereInput =>
  viewer.role === 'CUSTOMER'
    ? { teamId: teamOf(viewer), id: viewer.customerId ?? NO_TEAM }
    : { teamId: teamOf(viewer) };

export const visibleAgents = (viewer: Viewer): Prisma.AgentWhereInput => ({ teamId: teamOf(viewer) });

export const visibleApiKeys = (viewer: Viewer): Prisma.ApiKeyWhereInput => ({ teamId: teamOf(viewer) });

/** The event log is staff-only. */
export const visibleEvents = (viewer: Viewer): Prisma.TicketEventWhereInput =>
  viewer.role === 'ADMIN' || viewer.role === 'AGENT' ? { teamId: teamOf(viewer) } : { teamId: NO_TEAM };
