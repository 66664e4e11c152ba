// Teams: created with default SLA targets and a first ADMIN key.
import { z } from 'zod';
import { createApiKey } from '../auth/api-keys.js';
import type { Db } from '../db.js';
import { conflictOnDuplicate } from '../errors.js';
import type { ApiKeyMode, TicketPriority } from '../generated/prisma/enums.js';
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
  slaTargets: SlaTargets.nullish(),
});

export const DUPLICATE_SLUG = 'A team with this slug exists';

/** Creates a team (default SLA targets for priorities not given) and its first key, with every scope. */
export async function createTeam(db: Db, raw: z.input<typeof TeamFields>, keyMode: ApiKeyMode = 'LIVE') {
  const input = v.parseInput(TeamFields, raw);
  const targets = new Map<TicketPriority, { firstResponseMinutes: number; resolutionMinutes: number }>(
    Object.entries(DEFAULT_SLA_TARGETS) as Array<[TicketPriority, { firstResponseMinutes: number; resolutionMinutes: number }]>,
  );
  for (const t of input.slaTargets ?? []) targets.set(t.priority, t);
  return conflictOnDuplicate(
    db.$transaction(async (tx) => {
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
