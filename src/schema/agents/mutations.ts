import * as agents from '../../domain/agents.js';
import { encodeId } from '../../ids.js';
import { builder } from '../builder.js';
import { payloadCursor } from '../common/payloads.js';
import { adminOnly } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { Agent, AgentRoleEnum } from './types.js';

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
    resolve: async (_root, { input }, ctx) => ({ agent: await agents.createAgent(ctx, ctx.viewer.teamId!, input) }),
  },
  {
    description: 'The created agent.',
    outputFields: (t) => ({
      ...payloadCursor(t), agent: t.field({ type: Agent, description: 'The agent.', resolve: (r) => r.agent }) }),
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
    resolve: async (_root, { input }, ctx) => {
      const id = uuidOf('Agent', input.id, 'input.id');
      const agent = await agents.updateAgent(ctx, ctx.viewer, id, {
        name: input.name ?? undefined,
        email: input.email ?? undefined,
        role: input.role ?? undefined,
        avatarUrl: input.avatarUrl,
      });
      return { agent };
    },
  },
  {
    description: 'The changed agent.',
    outputFields: (t) => ({
      ...payloadCursor(t), agent: t.field({ type: Agent, description: 'The agent.', resolve: (r) => r.agent }) }),
  },
);

builder.relayMutationField(
  'deleteAgent',
  {
    description: 'The agent to remove.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The agent (agt_… or UUID).' }) }),
  },
  {
    description:
      'Removes an agent (admins). Each of their tickets becomes unassigned with an UPDATED event (changedFields assigneeId), sent to webhooks as ticket.updated; their messages stay.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const id = uuidOf('Agent', input.id, 'input.id');
      await agents.deleteAgent(ctx, ctx.viewer, id);
      return { deletedAgentId: encodeId('Agent', id) };
    },
  },
  {
    description: 'What was removed.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      deletedAgentId: t.id({ description: 'ID of the removed agent.', resolve: (r) => r.deletedAgentId }),
    }),
  },
);
