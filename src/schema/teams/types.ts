import { builder } from '../builder.js';
import { visibleTeams } from '../../auth/visibility.js';
import { notFound } from '../../errors.js';

export const TicketPriorityEnum = builder.enumType('TicketPriority', {
  description: 'How urgent a ticket is. Orders LOW < NORMAL < HIGH < URGENT.',
  values: {
    LOW: { description: 'Can wait.' },
    NORMAL: { description: 'The default.' },
    HIGH: { description: 'Needs attention soon.' },
    URGENT: { description: 'Needs attention now.' },
  } as const,
});

builder.prismaObject('SlaTarget', {
  description: 'Service level targets of a team for one priority.',
  fields: (t) => ({
    priority: t.expose('priority', { type: TicketPriorityEnum, description: 'The priority these targets apply to.' }),
    firstResponseMinutes: t.exposeInt('firstResponseMinutes', {
      description: 'Minutes from creation within which the first public agent reply is due.',
    }),
    resolutionMinutes: t.exposeInt('resolutionMinutes', {
      description: 'Minutes from creation within which the ticket is due to be resolved.',
    }),
  }),
});

export const Team = builder.prismaNode('Team', {
  description: 'A support team: every credential, ticket and person belongs to exactly one.',
  id: { field: 'id', description: 'The team ID (team_…).' },
  // Missing, or not visible to the viewer: node(id:) answers null.
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, AND: [visibleTeams(viewer)] }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    slug: t.exposeString('slug', { description: 'Unique, URL-safe name, used by public ticket forms.' }),
    supportEmail: t.exposeString('supportEmail', {
      nullable: true,
      description: "The team's support inbox, copied on new tickets.",
    }),
    acceptsPublicTickets: t.exposeBoolean('acceptsPublicTickets', {
      description: 'Whether anonymous callers may submit tickets to this team.',
    }),
    presenceShowsAgentNames: t.exposeBoolean('presenceShowsAgentNames', {
      description: 'Whether customers see the names of agents typing on their tickets; otherwise only that an agent is typing.',
    }),
    searchConfiguration: t.exposeString('searchConfig', {
      description: 'The text search configuration of ticket searches (simple, english, …): how words are split and stemmed.',
    }),
    slaTargets: t.relation('slaTargets', {
      description: 'Service level targets by priority.',
      query: { orderBy: { priority: 'asc' } },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the team was created.' }),
  }),
});

builder.queryField('team', (t) =>
  t.prismaField({
    type: Team,
    description: "The caller's team.",
    authScopes: { member: true },
    resolve: async (query, _root, _args, { db, viewer }) => {
      const team = await db.team.findFirst({ ...query, where: visibleTeams(viewer) });
      if (!team) throw notFound('Team');
      return team;
    },
  }),
);
