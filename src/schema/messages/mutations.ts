import * as tickets from '../../domain/tickets.js';
import { AttachmentInput } from '../attachments/types.js';
import { attachmentRefs } from '../attachments/mutations.js';
import { builder } from '../builder.js';
import { readBack, payloadCursor, writtenRow } from '../common/payloads.js';
import { uuidOf } from '../common/global-ids.js';
import { Ticket } from '../tickets/types.js';
import { Message, MessageSenderEnum } from './types.js';

builder.relayMutationField(
  'addMessage',
  {
    description: 'The message to add.',
    inputFields: (t) => ({
      ticketId: t.id({ required: true, description: 'The ticket (tkt_… or UUID).' }),
      body: t.string({ required: true, description: 'The text, 1–50,000 characters.' }),
      isInternal: t.boolean({ description: 'An internal note, visible to staff only and never emailed (staff only).' }),
      sender: t.field({ type: MessageSenderEnum, description: 'Who it is from; AGENT for staff by default (staff only).' }),
      senderName: t.string({ description: 'Display name of the sender, when it is not the caller.' }),
      attachments: t.field({
        type: [AttachmentInput],
        description: 'Files for the message (at most MAX_ATTACHMENTS_PER_MESSAGE): files of this multipart request, or upload ids.',
      }),
    }),
  },
  {
    description:
      'Adds a message to a ticket. A public reply on a CLOSED ticket is a CONFLICT; a customer reply reopens a PENDING or RESOLVED ticket.',
    authScopes: { scope: 'WRITE' },
    resolve: (_root, { input }, ctx) =>
      tickets.addMessage(ctx, ctx.viewer, uuidOf('Ticket', input.ticketId, 'input.ticketId'), {
        body: input.body,
        isInternal: input.isInternal,
        sender: input.sender,
        senderName: input.senderName,
        attachments: attachmentRefs(ctx.viewer, input.attachments),
      }),
  },
  {
    description: 'The new message and its ticket.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      message: t.field({ type: Message, ...readBack, description: 'The new message.', resolve: (r, _args, ctx, info) => writtenRow('Message', r.message, ctx, info) }),
      ticket: t.field({
        type: Ticket,
        ...readBack,
        description: 'The ticket after the message.',
        resolve: (r, _args, ctx, info) => writtenRow('Ticket', r.ticket, ctx, info),
      }),
    }),
  },
);
