import { z } from 'zod';
import * as v from '../../domain/validation.js';
import { conflictOnDuplicate, notFound } from '../../errors.js';
import { encodeId } from '../../ids.js';
import { visibleAgents } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { adminOnly } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { Agent, AgentRoleEnum } from './types.js';

const DUPLICATE = 'An agent with this email exists in the team';

builder.relayMutationField(
  'createAgent',
  {
    description: 'The new agent.',
    inputFields: (t) => ({
      name: t.string({ required: true, description: 'Display name.' }),
      email: t.string({ required: true, description: 'Email address, unique in the team.' }),
      role: t.field({ type: AgentRoleEnum, description: 'Default AGENT.' }),
      avatarUrl: t.string({ description: 'URL of a picture.' }),
    }),
  },
  {
    description: 'Adds a staff member to the team (admins).',
    authScopes: adminOnly,
    resolve: async (_root, { input }, { db, viewer }) => {
      const data = v.parseInput(
        z.object({ name: v.name, email: v.email, role: z.enum(['ADMIN', 'AGENT']).nullish(), avatarUrl: v.url.nullish() }),
        input,
      );
      const agent = await conflictOnDuplicate(
        db.agent.create({
          data: { teamId: viewer.teamId!, name: data.name, email: data.email, role: data.role ?? 'AGENT', avatarUrl: data.avatarUrl ?? null },
        }),
        DUPLICATE,
      );
      return { agent };
    },
  },
  {
    description: 'The created agent.',
    outputFields: (t) => ({ agent: t.field({ type: Agent, description: 'The agent.', resolve: (r) => r.agent }) }),
  },
);

builder.relayMutationField(
  'updateAgent',
  {
    description: 'The fields to change.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The agent (agt_… or UUID).' }),
      name: t.string({ description: 'New display name.' }),
      email: t.string({ description: 'New email address.' }),
      role: t.field({ type: AgentRoleEnum, description: 'New role.' }),
      avatarUrl: t.string({ description: 'New picture URL; null clears it.' }),
    }),
  },
  {
    description: 'Changes an agent (admins).',
    authScopes: adminOnly,
    resolve: async (_root, { input }, { db, viewer }) => {
      const id = uuidOf('Agent', input.id, 'input.id');
      const data = v.parseInput(
        z.object({
          name: v.name.optional(),
          email: v.email.optional(),
          role: z.enum(['ADMIN', 'AGENT']).optional(),
          avatarUrl: v.url.nullish(),
        }),
        { name: input.name ?? undefined, email: input.email ?? undefined, role: input.role ?? undefined, avatarUrl: input.avatarUrl },
      );
      const found = await db.agent.findFirst({ where: { id, AND: [visibleAgents(viewer)] }, select: { id: true } });
      if (!found) throw notFound('Agent');
      const agent = await conflictOnDuplicate(db.agent.update({ where: { id }, data }), DUPLICATE);
      return { agent };
    },
  },
  {
    description: 'The changed agent.',
    outputFields: (t) => ({ agent: t.field({ type: Agent, description: 'The agent.', resolve: (r) => r.agent }) }),
  },
);

builder.relayMutationField(
  'deleteAgent',
  {
    description: 'The agent to remove.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The agent (agt_… or UUID).' }) }),
  },
  {
    description: 'Removes an agent (admins). Their tickets become unassigned; their messages stay.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, { db, viewer, bus }) => {
      const id = uuidOf('Agent', input.id, 'input.id');
      const { count } = await db.agent.deleteMany({ where: { id, AND: [visibleAgents(viewer)] } });
      if (count === 0) throw notFound('Agent');
      bus.publish({ kind: 'credential-revoked', teamId: viewer.teamId!, agentId: id });
      return { deletedAgentId: encodeId('Agent', id) };
    },
  },
  {
    description: 'What was removed.',
    outputFields: (t) => ({
      deletedAgentId: t.id({ description: 'ID of the removed agent.', resolve: (r) => r.deletedAgentId }),
    }),
  },
);
