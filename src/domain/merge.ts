// Merging duplicates: the threads of the source tickets are copied into the target,
// in the order they were written, and each source is CLOSED with a system message
// that names the target. A source keeps its own messages, so its customer still reads
// their conversation where they left it.
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { badInput, conflict } from '../errors.js';
import type { Message, Ticket } from '../generated/prisma/client.js';
import { encodeId } from '../ids.js';
import { change, type Deps } from './change.js';
import { actorOf } from './events.js';
import { lockTicket, statusEffects } from './tickets.js';
import * as v from './validation.js';

export const MERGE_SOURCES_LIMIT = 20;

const MergeInput = z.object({
  sourceIds: z.array(z.string()).min(1, 'name at least one ticket to merge').max(MERGE_SOURCES_LIMIT, `at most ${MERGE_SOURCES_LIMIT} tickets at once`),
  targetId: z.string(),
});

/** The body of the system message a merged ticket gets. */
export const mergedNotice = (target: Ticket) => `This ticket was merged into ticket #${target.number}, where the conversation continues.`;

/**
 * Merges `sourceIds` (UUIDs) into `targetId`, in one transaction: a ticket the viewer
 * cannot see makes the whole merge NOT_FOUND (another team's included), a ticket
 * already merged a CONFLICT, and nothing is written.
 *
 * A copied message stays as it was when source and target have the same customer;
 * otherwise it becomes an internal note of the target, so that the target's customer
 * never reads another customer's conversation.
 */
export async function mergeTickets(deps: Deps, viewer: Viewer, raw: z.input<typeof MergeInput>) {
  const input = v.parseInput(MergeInput, raw);
  const sources = [...new Set(input.sourceIds)];
  const self = input.sourceIds.indexOf(input.targetId);
  if (self >= 0) throw badInput([{ path: `input.sourceIds.${self}`, message: 'a ticket cannot be merged into itself' }]);

  return change(deps, async ({ tx, record }) => {
    // Locked in one order (by id) whatever the request's: two merges of the same
    // tickets never wait for each other's locks.
    const locked = new Map<string, Ticket>();
    for (const id of [input.targetId, ...sources].sort()) locked.set(id, await lockTicket(tx, viewer, id));
    const target = locked.get(input.targetId)!;
    if (target.mergedIntoId) throw conflict('The target ticket was merged into another: merge into that one');
    const merged = sources.map((id) => locked.get(id)!).sort((a, b) => a.number - b.number);
    const already = merged.find((s) => s.mergedIntoId);
    if (already) throw conflict(`Ticket #${already.number} is already merged`);

    const now = new Date();
    const actor = actorOf(viewer);
    let copied = 0;
    let copiedPublic = 0;
    for (const source of merged) {
      const sameCustomer = source.customerId === target.customerId;
      const [counts] = await tx.$queryRaw<Array<{ copied: number; public: number }>>`
        WITH copies AS (
          INSERT INTO messages (id, ticket_id, sender, author_agent_id, author_customer_id, sender_name, sender_avatar_url, body, is_internal, created_at)
          SELECT gen_random_uuid(), ${target.id}::uuid, sender, author_agent_id, author_customer_id, sender_name, sender_avatar_url, body,
                 is_internal OR NOT ${sameCustomer}, created_at
          FROM messages WHERE ticket_id = ${source.id}::uuid
          RETURNING is_internal)
        SELECT count(*)::int AS copied, (count(*) FILTER (WHERE NOT is_internal))::int AS public FROM copies`;
      copied += counts?.copied ?? 0;
      copiedPublic += counts?.public ?? 0;

      const notice: Message = await tx.message.create({
        data: { id: uuidv7(), ticketId: source.id, sender: 'SYSTEM', body: mergedNotice(target), createdAt: now },
      });
      const updated = await tx.ticket.update({
        where: { id: source.id },
        data: {
          status: 'CLOSED',
          mergedIntoId: target.id,
          ...(await statusEffects(tx, source, 'CLOSED', source.priority, now)),
          messageCount: { increment: 1 },
          publicMessageCount: { increment: 1 },
          updatedAt: now,
          publicUpdatedAt: now,
        },
      });
      const changes = {
        ...(source.status !== 'CLOSED' && { status: { old: source.status, new: 'CLOSED' } }),
        mergedInto: { old: null, new: encodeId('Ticket', target.id) },
      };
      await record(
        { teamId: source.teamId, ticketId: source.id, customerId: source.customerId, type: 'MERGED', actor, changes, messageId: notice.id },
        { ticket: updated, message: notice },
      );
    }

    const updatedTarget = await tx.ticket.update({
      where: { id: target.id },
      data: {
        messageCount: { increment: copied },
        publicMessageCount: { increment: copiedPublic },
        updatedAt: now,
        ...(copiedPublic > 0 && { publicUpdatedAt: now }),
      },
    });
    const mergedIds = merged.map((s) => encodeId('Ticket', s.id));
    await record(
      {
        teamId: target.teamId,
        ticketId: target.id,
        customerId: target.customerId,
        type: 'UPDATED',
        actor,
        changes: { mergedFrom: { old: null, new: mergedIds } },
      },
      { ticket: updatedTarget },
    );
    return { target: updatedTarget, sources: merged.map((s) => s.id) };
  });
}
