import { builder } from '../builder.js';
import { Agent } from '../agents/types.js';
import { Attachment } from '../attachments/types.js';
import { Customer } from '../customers/types.js';
import { visibleMessages } from '../../auth/visibility.js';

export const MessageSenderEnum = builder.enumType('MessageSender', {
  description: 'Who a message is from.',
  values: {
    AGENT: { description: 'A staff member (or an integration acting for one).' },
    CUSTOMER: { description: 'The customer.' },
    SYSTEM: { description: 'An automated message.' },
  } as const,
});

export const MessageAuthor = builder.unionType('MessageAuthor', {
  description: 'The person who wrote a message.',
  types: [Agent, Customer],
  resolveType: (author) => ('role' in author ? Agent : Customer),
});

export const Message = builder.prismaNode('Message', {
  // Select mode: queries read only the columns the operation's fields need.
  select: { id: true },
  description: 'A message in the thread of a ticket: a public reply, or an internal note (staff only).',
  id: { field: 'id', description: 'The message ID (msg_…).' },
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, AND: [visibleMessages(viewer)] }),
  fields: (t) => ({
    ticket: t.relation('ticket', { description: 'The ticket the message belongs to.' }),
    sender: t.expose('sender', { type: MessageSenderEnum, description: 'Who the message is from.' }),
    author: t.field({
      type: MessageAuthor,
      nullable: true,
      description: 'The agent or customer who wrote it, when known.',
      select: { authorAgent: true, authorCustomer: true },
      resolve: (message) => message.authorAgent ?? message.authorCustomer,
    }),
    senderName: t.exposeString('senderName', { nullable: true, description: 'Display name of the sender.' }),
    senderAvatarUrl: t.exposeString('senderAvatarUrl', {
      nullable: true,
      description: "URL of the sender's picture (agents).",
    }),
    body: t.exposeString('body', { description: 'The text of the message.' }),
    isInternal: t.exposeBoolean('isInternal', {
      description: 'An internal note: visible to staff only, never emailed to the customer.',
    }),
    attachments: t.relation('attachments', {
      type: Attachment,
      description: 'The files on the message, in the order they were given. An internal note’s are staff-only, as the note is.',
      query: { orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] },
    }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the message was added.' }),
  }),
});
