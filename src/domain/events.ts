// The ticket event log: one row per change, written in the transaction that
// makes the change. It is the ticket's history and the feed live consoles follow.
import type { Viewer } from '../auth/viewer.js';
import { v7 as uuidv7 } from 'uuid';
import { Prisma, type TicketEvent } from '../generated/prisma/client.js';
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

/** An event's row, but for its place in the log (taken by eventsSql). */
export function eventRow(event: NewEvent): Omit<TicketEvent, 'seq'> {
  const changes = event.changes ?? {};
  return {
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
}

/**
 * The part of a change's last statement (domain/change.ts) that appends its events to
 * their team's log, in order, as the common table expressions `next` and `ev` (`ev`
 * returns each event's id and seq). `seq` comes from the team row, whose lock is held
 * until the transaction ends: within a team, seq is 1, 2, 3, … without gaps and in
 * commit order. A subscriber that meets seq N + 2 after N knows N + 1 is committed and
 * can read it; catching up "after N" misses nothing.
 *
 * The change runs this last: the team's row is locked from then until the commit only,
 * however long the rest of the change takes, so that concurrent changes of a team wait
 * for each other as little as possible. A team that is not there fails the statement
 * (its NULL seq) rather than recording nothing: the commit follows it unchecked.
 */
export function eventsSql(rows: ReadonlyArray<Omit<TicketEvent, 'seq'>>): Prisma.Sql {
  const teamId = rows[0]?.teamId;
  if (!teamId) throw new Error('No events to record');
  if (rows.some((row) => row.teamId !== teamId)) throw new Error('The events of one change belong to one team');
  return Prisma.sql`next AS (UPDATE teams SET event_seq = event_seq + ${rows.length} WHERE id = ${teamId}::uuid RETURNING event_seq),
    ev AS (
      INSERT INTO ticket_events (id, seq, team_id, ticket_id, customer_id, message_id, is_internal, type, changes, changed_fields, actor, occurred_at)
      SELECT (e.doc->>'id')::uuid, next.event_seq - ${rows.length} + e.ord, ${teamId}::uuid, (e.doc->>'ticketId')::uuid,
             (e.doc->>'customerId')::uuid, (e.doc->>'messageId')::uuid, (e.doc->>'isInternal')::boolean,
             (e.doc->>'type')::"TicketEventType", e.doc->'changes', ARRAY(SELECT jsonb_array_elements_text(e.doc->'changedFields')),
             e.doc->'actor', (e.doc->>'occurredAt')::timestamptz
      FROM (SELECT (SELECT event_seq FROM next) AS event_seq) AS next, jsonb_array_elements(${JSON.stringify(rows)}::jsonb) WITH ORDINALITY AS e(doc, ord)
      RETURNING id::text, seq::text AS seq)`;
}
