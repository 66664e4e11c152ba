// Teams: created with default SLA targets and a first ADMIN key.
import { z } from 'zod';
import { createApiKey } from '../auth/api-keys.js';
import type { Viewer } from '../auth/viewer.js';
import type { Tx } from '../db.js';
import { badInput, conflictOnDuplicate, notFound } from '../errors.js';
import type { ApiKeyMode, TicketPriority } from '../generated/prisma/enums.js';
import type { FilesDeps } from './attachments.js';
import { change, type Deps } from './change.js';
import { DEFAULT_SLA_TARGETS } from './sla.js';
import * as v from './validation.js';

const minutes = z.number().int().min(1, 'must be at least 1 minute').max(525_600, 'must be at most a year');

export const SlaTargets = z
  .array(z.object({ priority: v.priority, firstResponseMinutes: minutes, resolutionMinutes: minutes }))
  .refine((list) => new Set(list.map((t) => t.priority)).size === list.length, 'one target per priority');

export const TeamFields = z.object({
  name: v.name,
  slug: v.slug,
  supportEmail: v.email.nullish(),
  acceptsPublicTickets: z.boolean().nullish(),
  presenceShowsAgentNames: z.boolean().nullish(),
  slaTargets: SlaTargets.nullish(),
  searchConfiguration: z.string().trim().toLowerCase().max(63).optional(),
});

/**
 * Checks a text search configuration against those PostgreSQL has (pg_catalog's:
 * simple, english, german, …), so that no search can fail on an unknown one.
 */
async function checkSearchConfiguration(tx: Tx, name: string): Promise<void> {
  const known = await tx.$queryRaw<Array<{ name: string }>>`
    SELECT c.cfgname::text AS name FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace WHERE n.nspname = 'pg_catalog' ORDER BY 1`;
  if (!known.some((c) => c.name === name)) {
    throw badInput([{ path: 'input.searchConfiguration', message: `must be one of ${known.map((c) => c.name).join(', ')}` }]);
  }
}

/**
 * Indexes the team's texts again in its new configuration, in the change's transaction:
 * writing a text column to itself fires the trigger that computes its tsvector.
 */
async function reindexTeam(tx: Tx, teamId: string): Promise<void> {
  await tx.$executeRaw`UPDATE tickets SET title = title WHERE team_id = ${teamId}::uuid`;
  await tx.$executeRaw`UPDATE messages SET body = body WHERE ticket_id IN (SELECT id FROM tickets WHERE team_id = ${teamId}::uuid)`;
  await tx.$executeRaw`UPDATE customers SET name = name WHERE team_id = ${teamId}::uuid`;
}

export const DUPLICATE_SLUG = 'A team with this slug exists';

/** Creates a team (default SLA targets for priorities not given) and its first key, with every scope. */
export async function createTeam(deps: Deps, raw: z.input<typeof TeamFields>, keyMode: ApiKeyMode = 'LIVE') {
  const input = v.parseInput(TeamFields, raw);
  const targets = new Map<TicketPriority, { firstResponseMinutes: number; resolutionMinutes: number }>(
    Object.entries(DEFAULT_SLA_TARGETS) as Array<[TicketPriority, { firstResponseMinutes: number; resolutionMinutes: number }]>,
  );
  for (const t of input.slaTargets ?? []) targets.set(t.priority, t);
  return conflictOnDuplicate(
    change(deps, async ({ tx }) => {
      const team = await tx.team.create({
        data: {
          name: input.name,
          slug: input.slug,
          supportEmail: input.supportEmail ?? null,
          acceptsPublicTickets: input.acceptsPublicTickets ?? false,
          slaTargets: { create: [...targets].map(([priority, t]) => ({ priority, ...t })) },
        },
      });
      const key = await createApiKey(tx, { teamId: team.id, name: 'Admin key', scopes: ['READ', 'WRITE', 'DELETE', 'ADMIN'], mode: keyMode });
      return { team, key };
    }),
    DUPLICATE_SLUG,
  );
}

/** The viewer's own team, or NOT_FOUND: another team's ID answers like a missing one. */
function ownTeam(viewer: Viewer, id: string) {
  if (id !== viewer.teamId) throw notFound('Team');
  return id;
}

/** Changes the settings; SLA targets given replace those of their priority (new tickets and priority changes use them). */
export async function updateTeam(deps: Deps, viewer: Viewer, teamId: string, raw: z.input<ReturnType<typeof TeamFields.partial>>) {
  const id = ownTeam(viewer, teamId);
  const input = v.parseInput(TeamFields.partial(), raw);
  return conflictOnDuplicate(
    change(deps, async ({ tx }) => {
      const config = input.searchConfiguration;
      if (config !== undefined) await checkSearchConfiguration(tx, config);
      for (const target of input.slaTargets ?? []) {
        await tx.slaTarget.upsert({
          where: { teamId_priority: { teamId: id, priority: target.priority } },
          create: { teamId: id, ...target },
          update: target,
        });
      }
      const before = config === undefined ? undefined : await tx.team.findUniqueOrThrow({ where: { id }, select: { searchConfig: true } });
      const team = await tx.team.update({
        where: { id },
        data: {
          ...(input.name !== undefined && { name: input.name }),
          ...(input.slug !== undefined && { slug: input.slug }),
          ...(input.supportEmail !== undefined && { supportEmail: input.supportEmail }),
          ...(input.acceptsPublicTickets != null && { acceptsPublicTickets: input.acceptsPublicTickets }),
          ...(input.presenceShowsAgentNames != null && { presenceShowsAgentNames: input.presenceShowsAgentNames }),
          ...(config !== undefined && { searchConfig: config }),
        },
      });
      if (before && before.searchConfig !== team.searchConfig) await reindexTeam(tx, id);
      return team;
    }),
    DUPLICATE_SLUG,
  );
}

/** Deletes the team with everything in it; every live subscription of it ends. */
export async function deleteTeam(deps: Deps & Partial<Pick<FilesDeps, 'attachments'>>, viewer: Viewer, teamId: string) {
  const id = ownTeam(viewer, teamId);
  await change(deps, async ({ tx, announce }) => {
    await tx.team.delete({ where: { id } });
    announce({ kind: 'team-deleted', teamId: id });
  });
  // After the commit: the team's attachment rows went with it, so its files go too.
  await deps.attachments?.store.removeTeam(id);
}
