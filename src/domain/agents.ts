// Agents: the staff of a team, one per email address.
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { visibleAgents } from '../auth/visibility.js';
import { conflictOnDuplicate, notFound } from '../errors.js';
import { change, type Deps } from './change.js';
import { actorOf } from './events.js';
import { unassignAgent } from './tickets.js';
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
    change(deps, async ({ tx, announce }) => {
      const found = await tx.agent.findFirst({ where: { id, AND: [visibleAgents(viewer)] }, select: { id: true, teamId: true } });
      if (!found) throw notFound('Agent');
      // Their name, email or role as credentials carry it (cached per process) is read again.
      announce({ kind: 'credential-changed', teamId: found.teamId, agentId: id });
      return tx.agent.update({ where: { id }, data: input });
    }),
    DUPLICATE,
  );
}

/**
 * Removes an agent. Their tickets become unassigned, each with an UPDATED event (and
 * its webhooks); their messages stay, without an author; their live subscriptions end.
 */
export async function deleteAgent(deps: Deps, viewer: Viewer, id: string) {
  return change(deps, async (scope) => {
    const { tx, announce } = scope;
    const found = await tx.agent.findFirst({ where: { id, AND: [visibleAgents(viewer)] }, select: { id: true, teamId: true } });
    if (!found) throw notFound('Agent');
    // Held until the commit: an assignment to this agent made meanwhile waits for it
    // (and then fails), instead of being cleared by the foreign key without an event.
    const locked = await tx.$queryRaw<unknown[]>`SELECT 1 FROM agents WHERE id = ${id}::uuid FOR UPDATE`;
    if (locked.length === 0) throw notFound('Agent');
    await unassignAgent(scope, actorOf(viewer), found.teamId, id);
    await tx.agent.delete({ where: { id } });
    announce({ kind: 'credential-revoked', teamId: found.teamId, agentId: id });
  });
}
