import { builder } from '../builder.js';
import { visibleAgents } from '../../auth/visibility.js';

export const AgentRoleEnum = builder.enumType('AgentRole', {
  description: 'What a staff member may do.',
  values: {
    ADMIN: { description: 'Everything in the team: keys, webhooks, agents, deletes.' },
    AGENT: { description: 'Tickets, messages, internal notes and assignment.' },
  } as const,
});

export const Agent = builder.prismaNode('Agent', {
  description: 'A staff member of a team.',
  id: { field: 'id', description: 'The agent ID (agt_…).' },
  // Missing, or not visible to the viewer: node(id:) answers null.
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, AND: [visibleAgents(viewer)] }),
  fields: (t) => ({
    name: t.exposeString('name', { description: 'Display name.' }),
    email: t.exposeString('email', {
      authScopes: { staff: true },
      nullable: true,
      description: 'Email address, unique in the team (staff only).',
    }),
    role: t.expose('role', { type: AgentRoleEnum, description: 'Role in the team.' }),
    avatarUrl: t.exposeString('avatarUrl', { nullable: true, description: 'URL of a picture of the agent.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the agent was added.' }),
    updatedAt: t.expose('updatedAt', { type: 'DateTime', description: 'When the agent last changed.' }),
  }),
});
