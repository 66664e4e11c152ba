import { notFound } from '../../errors.js';
import { visibleAgents } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { staffRead } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { pageSizeLimit } from '../common/paging.js';
import { Agent } from './types.js';

builder.queryFields((t) => ({
  agent: t.prismaField({
    type: Agent,
    nullable: true,
    description: 'An agent of the team by ID (agt_… or UUID).',
    authScopes: staffRead,
    args: { id: t.arg.id({ required: true, description: 'The agent ID (agt_…) or its UUID.' }) },
    resolve: async (query, _root, { id }, { db, viewer }) => {
      const agent = await db.agent.findFirst({ ...query, where: { id: uuidOf('Agent', id), AND: [visibleAgents(viewer)] } });
      if (!agent) throw notFound('Agent');
      return agent;
    },
  }),
  agents: t.prismaConnection(
    {
      type: Agent,
      description: "The team's agents, in the order they were added.",
      authScopes: staffRead,
      cursor: 'id',
      maxSize: pageSizeLimit,
      totalCount: (_c, _args, { db, viewer }) => db.agent.count({ where: visibleAgents(viewer) }),
      resolve: (query, _root, _args, { db, viewer }) =>
        db.agent.findMany({ ...query, where: visibleAgents(viewer), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    },
    { name: 'AgentConnection', description: 'A page of agents.' },
    { name: 'AgentEdge', description: 'An agent in a page.' },
  ),
}));
