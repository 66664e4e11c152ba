import { mergeTickets } from '../../domain/merge.js';
import { encodeId } from '../../ids.js';
import { builder } from '../builder.js';
import { payloadCursor, readBack } from '../common/payloads.js';
import { staffWrite } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { Ticket } from './types.js';

builder.relayMutationField(
  'mergeTickets',
  {
    description: 'The duplicates and the ticket they are merged into.',
    inputFields: (t) => ({
      sourceIds: t.idList({ required: true, description: 'The tickets to merge (tkt_… or UUIDs), at most 20: each becomes CLOSED.' }),
      targetId: t.id({ required: true, description: 'The ticket that takes their messages; not one of them, and not a merged ticket.' }),
    }),
  },
  {
    description:
      "Merges duplicates into one ticket (staff). Their messages are copied into the target in order (as internal notes when the source's customer is another), each source is CLOSED with a system message naming the target and its mergedInto set; one MERGED event per source (webhook ticket.merged) and an UPDATED on the target.",
    authScopes: staffWrite,
    resolve: async (_root, { input }, ctx) => {
      const result = await mergeTickets(ctx, ctx.viewer, {
        sourceIds: input.sourceIds.map((id, i) => uuidOf('Ticket', id, `input.sourceIds.${i}`)),
        targetId: uuidOf('Ticket', input.targetId, 'input.targetId'),
      });
      return result;
    },
  },
  {
    description: 'The merged tickets.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      ticket: t.field({ type: Ticket, ...readBack, description: 'The target, after the merge.', resolve: (r) => r.target }),
      mergedTicketIds: t.idList({ description: 'IDs of the tickets merged into it.', resolve: (r) => r.sources.map((id) => encodeId('Ticket', id)) }),
    }),
  },
);
