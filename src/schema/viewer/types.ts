import type { Viewer as ViewerShape } from '../../auth/viewer.js';
import { notFound } from '../../errors.js';
import { visibleTeams } from '../../auth/visibility.js';
import { Agent } from '../agents/types.js';
import { ApiKeyScopeEnum } from '../api-keys/types.js';
import { builder } from '../builder.js';
import { Customer } from '../customers/types.js';
import { Team } from '../teams/types.js';

export const RoleEnum = builder.enumType('Role', {
  description: 'The role a credential acts with.',
  values: {
    ADMIN: { description: 'Everything in the team.' },
    AGENT: { description: 'Tickets, messages and internal notes.' },
    CUSTOMER: { description: 'Only their own tickets, never internal messages.' },
    ANONYMOUS: { description: 'No credential: may only submit tickets to public teams.' },
  } as const,
});

const Viewer = builder.objectRef<ViewerShape>('Viewer').implement({
  description: 'Who is calling: the credential of the request.',
  fields: (t) => ({
    role: t.field({ type: RoleEnum, description: 'The role the credential acts with.', resolve: (v) => v.role }),
    scopes: t.field({
      type: [ApiKeyScopeEnum],
      description: 'What the credential may do (API key scopes, or those of the role).',
      resolve: (v) => [...v.scopes],
    }),
    name: t.string({ nullable: true, description: 'Name of the key or person.', resolve: (v) => v.name ?? null }),
    team: t.prismaField({
      type: Team,
      description: "The credential's team.",
      resolve: async (query, v, _args, { db }) => {
        const team = await db.team.findFirst({ ...query, where: visibleTeams(v) });
        if (!team) throw notFound('Team');
        return team;
      },
    }),
    agent: t.prismaField({
      type: Agent,
      nullable: true,
      description: 'The agent, when a staff member calls with a token.',
      resolve: (query, v, _args, { db }) =>
        v.agentId ? db.agent.findUnique({ ...query, where: { id: v.agentId } }) : null,
    }),
    customer: t.prismaField({
      type: Customer,
      nullable: true,
      description: 'The customer, when a customer calls with a token.',
      resolve: (query, v, _args, { db }) =>
        v.customerId ? db.customer.findUnique({ ...query, where: { id: v.customerId } }) : null,
    }),
  }),
});

builder.queryField('viewer', (t) =>
  t.field({
    type: Viewer,
    description: 'Who is calling. Requires a credential.',
    authScopes: { member: true },
    resolve: (_root, _args, { viewer }) => viewer,
  }),
);
