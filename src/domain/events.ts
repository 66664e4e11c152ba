// The ticket event log: one row per change, written in the transaction that
// makes the change. It is the ticket's history and the feed live consoles follow.
import type { Viewer } from '../auth/viewer.js';
import type { Tx } from '../db.js';
import { v7 as uuidv7 } from 'uuid';
import type { Prisma, TicketEvent } from '../generated/prisma/client.js';
import type { TicketEventType } from '../generated/prisma/enums.js';

/** Who made a change, stored in the log as JSON as it was when the change was made. */
export type Actor = {
  kind: 'apiKey' | 'agent' | 'customer' | 'anonymous';
  /** The UUID of the agent, customer or API key (the API shows it as `actorId`, never as an `id`). */
  id: string | null;
  name: string | null;
};

export type Change = { old: unknown; new: unknown };
export type Changes = Record<string, Change>;

export function actorOf(viewer: Viewer): Actor {
  if (viewer.agentId) return { kind: 'agent', id: viewer.agentId, name: viewer.name ?? null };
  if (viewer.customerId) return { kind: 'customer', id: viewer.customerId, name: viewer.name ?? null };
  if (viewer.apiKeyId) return { kind: 'apiKey', id: viewer.apiKeyId, name: viewer.name ?? null };
  return { kind: 'anonymous', id: null, name: viewer.name ?? null };
}

/** Values as they are written to the log (dates as ISO strings). */
function plain(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : (value ?? null);
}

/** The fields whose value differs between `before` and `after`, with both values. */
export function diff(before: Record<string, unknown>, after: Record<string, unknown>, fields: readonly string[]): Changes {
  const changes: Changes = {};
  for (const field of fields) {
    const a = plain(before[field]);
    const b = plain(after[field]);
    if (JSON.stringify(a) !== JSON.stringify(b)) changes[field] = { old: a, new: b };
  }
  return changes;
}

export type NewEvent = {
  teamId: string;
  ticketId: string;
  /** The ticket's customer: whose live feed may show the event. */
  customerId: string | null;
  type: TicketEventType;
  actor: Actor;
  changes?: Changes;
  messageId?: string;
  /** An internal note: staff only. */
  isInternal?: boolean;
};

/**
 * Appends to the team's event log. `seq` comes from the team row, whose lock is
 * held until the transaction ends: within a team, seq is 1, 2, 3, … without gaps
 * and in commit order. A subscriber that meets seq N + 2 after N knows N + 1 is
 * committed and can read it; catching up "after N" misses nothing.
 *
 * One statement takes the number and writes the row: every change pays for it,
 * and two Prisma queries cost several times its CPU (see BENCHMARKS.md).
 */
export async function recordEvent(tx: Tx, event: NewEvent): Promise<TicketEvent> {
  const changes = event.changes ?? {};
  const row = {
    id: uuidv7(),
    teamId: event.teamId,
    ticketId: event.ticketId,
    customerId: event.customerId,
    messageId: event.messageId ?? null,
    isInternal: event.isInternal ?? false,
    type: event.type,
    changes: changes as Prisma.JsonObject,
    changedFields: Object.keys(changes),
    actor: event.actor as unknown as Prisma.JsonObject,
    occurredAt: new Date(),
  };
  const [numbered] = await tx.$queryRaw<Array<{ seq: string }>>`
    WITH next AS (UPDATE teams SET event_seq = event_seq + 1 WHERE id = ${row.teamId}::uuid RETURNING event_seq)
    INSERT INTO ticket_events (id, seq, team_id, ticket_id, customer_id, message_id, is_internal, type, changes, changed_fields, actor, occurred_at)
    SELECT ${row.id}::uuid, next.event_seq, ${row.teamId}::uuid, ${row.ticketId}::uuid, ${row.customerId}::uuid, ${row.messageId}::uuid,
           ${row.isInternal}, ${row.type}::"TicketEventType", ${JSON.stringify(changes)}::jsonb, ${row.changedFields}::text[],
           ${JSON.stringify(event.actor)}::jsonb, ${row.occurredAt}
    FROM next
    RETURNING seq::text AS seq`;
  if (!numbered) throw new Error(`Team ${row.teamId} not found for its event log`);
  return { ...row, seq: BigInt(numbered.seq) };
}
