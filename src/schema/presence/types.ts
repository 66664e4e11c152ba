import { createContextCache } from '@pothos/core';
import { isStaff, type Viewer } from '../../auth/viewer.js';
import type { Context } from '../../context.js';
import { encodeId } from '../../ids.js';
import type { PresenceEntry as Entry } from '../../live/bus.js';
import type { TicketPresenceState } from '../../live/presence.js';
import { builder } from '../builder.js';

export const PresenceStateEnum = builder.enumType('PresenceState', {
  description: 'What someone on a ticket is doing.',
  values: {
    VIEWING: { description: 'Has the ticket open.' },
    TYPING: { description: 'Is writing a public reply.' },
    COMPOSING_NOTE: { description: 'Is writing an internal note (staff only; never shown to customers).' },
    IDLE: { description: 'Has the ticket open but is away.' },
  } as const,
});

const PresenceKindEnum = builder.enumType('PresenceParticipantKind', {
  description: 'Who a presence entry is of.',
  values: {
    AGENT: { description: 'An agent or admin (for customers: any staff member, API keys included).' },
    CUSTOMER: { description: 'A customer.' },
    API_KEY: { description: 'An integration using an API key.' },
  } as const,
});

/** An entry as one viewer may see it. */
type Shown = { kind: 'AGENT' | 'CUSTOMER' | 'API_KEY'; state: Entry['state']; name: string | null; participantId: string | null; since: Date; expiresAt: Date };

const KINDS = { agent: 'AGENT', customer: 'CUSTOMER', apiKey: 'API_KEY' } as const;
const ID_TYPES = { agent: 'Agent', customer: 'Customer', apiKey: 'ApiKey' } as const;

/** Whether the team lets customers see the names of agents typing; read once per operation. */
const namesShown = createContextCache((ctx: Context) => {
  let shown: Promise<boolean> | undefined;
  return () =>
    (shown ??= ctx.db.team
      .findUnique({ where: { id: ctx.viewer.teamId! }, select: { presenceShowsAgentNames: true } })
      .then((team) => team?.presenceShowsAgentNames ?? false));
});

/**
 * What the viewer may see of a ticket's presence: staff see everyone and every state;
 * a customer sees only that staff are typing a public reply (never a note being
 * composed, nor who is viewing), and their names only when the team allows it. It
 * depends on the viewer's role and team alone, so subscribers that see alike share it.
 */
async function shownTo(ctx: Context, viewer: Viewer, presence: TicketPresenceState): Promise<Shown[]> {
  const entries = [...presence.entries].sort((a, b) => a.since - b.since || a.id.localeCompare(b.id));
  const show = (e: Entry): Shown => ({
    kind: KINDS[e.kind],
    state: e.state,
    name: e.name,
    participantId: encodeId(ID_TYPES[e.kind], e.id),
    since: new Date(e.since),
    expiresAt: new Date(e.expiresAt),
  });
  if (isStaff(viewer)) return entries.map(show);
  if (viewer.role !== 'CUSTOMER') return [];
  const typing = entries.filter((e) => e.kind !== 'customer' && e.state === 'TYPING');
  if (typing.length === 0) return [];
  const hide = (e: Shown): Shown => ({ ...e, kind: 'AGENT', participantId: null });
  if (await namesShown(ctx)()) return typing.map((e) => hide(show(e)));
  // One anonymous entry however many are typing: the count would say more than "an agent".
  const first = show(typing[0]!);
  const latest = Math.max(...typing.map((e) => e.expiresAt));
  return [{ ...hide(first), name: null, expiresAt: new Date(latest) }];
}

const PresenceEntryRef = builder.objectRef<Shown>('PresenceEntry').implement({
  description: 'Someone on a ticket and what they are doing.',
  fields: (t) => ({
    kind: t.field({ type: PresenceKindEnum, description: 'Agent, customer or API key.', resolve: (e) => e.kind }),
    state: t.field({ type: PresenceStateEnum, description: 'What they are doing.', resolve: (e) => e.state }),
    name: t.string({
      nullable: true,
      description: "Their name; for customers, agents' names only when the team shows them (Team.presenceShowsAgentNames).",
      resolve: (e) => e.name,
    }),
    participantId: t.id({
      nullable: true,
      description: 'The agent (agt_…), customer (cus_…) or API key (key_…); null for customers, who see no staff IDs.',
      resolve: (e) => e.participantId,
    }),
    since: t.field({ type: 'DateTime', description: 'When they began doing it.', resolve: (e) => e.since }),
    expiresAt: t.field({ type: 'DateTime', description: 'When the entry lapses unless a heartbeat (setPresence) comes first.', resolve: (e) => e.expiresAt }),
  }),
});

export const TicketPresence = builder.objectRef<TicketPresenceState>('TicketPresence').implement({
  description:
    'Who is on a ticket right now and doing what, as the caller may see it. Ephemeral: kept in memory or Redis with an expiry, never in the event log, emails or webhooks.',
  fields: (t) => ({
    ticketId: t.id({ description: 'The ticket (tkt_…).', resolve: (p) => encodeId('Ticket', p.ticketId) }),
    entries: t.field({
      type: [PresenceEntryRef],
      description: 'The people on the ticket, longest there first.',
      resolve: (p, _args, ctx) => shownTo(ctx, ctx.viewer, p),
    }),
  }),
});

/**
 * The presence of the tickets of one operation: one Redis round trip (a pipeline) for
 * a page of tickets, whatever its size.
 */
export const presenceOf = createContextCache((ctx: Context) => {
  type Waiting = { resolve(p: TicketPresenceState): void; reject(err: unknown): void };
  let pending: Map<string, Waiting[]> | undefined;
  return (ticketId: string): Promise<TicketPresenceState> =>
    new Promise((resolve, reject) => {
      if (!pending) {
        const batch = new Map<string, Waiting[]>();
        pending = batch;
        // After the sibling tickets' resolvers have asked for theirs.
        setImmediate(() => {
          pending = undefined;
          ctx.presence.read(ctx.viewer.teamId!, [...batch.keys()]).then(
            (found) => {
              for (const [id, waiting] of batch) for (const w of waiting) w.resolve(found.get(id)!);
            },
            (err: unknown) => {
              for (const waiting of batch.values()) for (const w of waiting) w.reject(err);
            },
          );
        });
      }
      const waiting = pending.get(ticketId) ?? [];
      waiting.push({ resolve, reject });
      pending.set(ticketId, waiting);
    });
});
