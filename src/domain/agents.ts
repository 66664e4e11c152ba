// Agents: the staff of a team, one per email address.
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { visibleAgents } from '../auth/visibility.js';
import { conflictOnDuplicate, notFound } from '../errors.js';
import { change, type Deps } from './change.js';
import * as v from './validation.js';

const DUPLICATE = 'An agent with this email exists in the team';
const ROLES = ['ADMIN', 'AGENT'] as const;

const CreateAgentInput = z.object({ name: v.name, email: v.email, role: z.enum(ROLES).nullish(), avatarUrl: v.url.nullish() });
const UpdateAgentInput = z.object({ name: v.name.optional(), email: v.email.optional(), role: z.enum(ROLES).optional(), avatarUrl: v.url.nullish() });

/** A new agent, role AGENT unless given. */
export async function createAgent(deps: Deps, teamId: string, raw: z.input<typeof CreateAgentInput>) {
  const input = v.parseInput(CreateAgentInput, raw);
  return conflictOnDuplicate(
    change(deps, ({ tx }) =>
      tx.agent.create({ data: { teamId, name: input.name, email: input.email, role: input.role ?? 'AGENT', avatarUrl: input.avatarUrl ?? null } }),
    ),
    DUPLICATE,
  );
}

/** `avatarUrl: null` clears the picture; an absent field stays as it is. */
export async function updateAgent(deps: Deps, viewer: Viewer, id: string, raw: z.input<typeof UpdateAgentInput>) {
  const input = v.parseInput(UpdateAgentInput, raw);
  return conflictOnDuplicate(
    change(deps, async ({ tx }) => {
      const found = await tx.agent.findFirst({ where: { id, AND: [visibleAgents(viewer)] }, select: { id: true } });
      if (!found) throw notFound('Agent');
      return tx.agent.update({ where: { id }, data: input });
    }),
    DUPLICATE,
  );
}

/** Removes an agent. Their tickets become unassigned; their messages stay; their live subscriptions end. */
export async function deleteAgent(deps: Deps, viewer: Viewer, id: string) {
  return change(deps, async ({ tx, announce }) => {
    const { count } = await tx.agent.deleteMany({ where: { id, AND: [visibleAgents(viewer)] } });
    if (count === 0) throw notFound('Agent');
    announce({ kind: 'credential-revoked', teamId: viewer.teamId!, agentId: id });
  });
}
