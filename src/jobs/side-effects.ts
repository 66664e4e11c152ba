// What a ticket event sets in motion outside the database: emails to people and
// signed webhooks to integrations. Decided and enqueued inside the transaction
// of the change, so they happen if and only if the change commits.
import type { Tx } from '../db.js';
import { Prisma, type Message, type Ticket, type TicketEvent } from '../generated/prisma/client.js';
import type { TicketEventType } from '../generated/prisma/enums.js';
import { encodeId } from '../ids.js';
import { addJob, type JobSpec } from './queue.js';
import type { Email } from './mail.js';

export const WEBHOOK_EVENT_TYPES: Record<TicketEventType, string> = {
  CREATED: 'ticket.created',
  UPDATED: 'ticket.updated',
  CLOSED: 'ticket.closed',
  ASSIGNED: 'ticket.assigned',
  MESSAGE_ADDED: 'ticket.message_added',
  DELETED: 'ticket.deleted',
  MERGED: 'ticket.merged',
};

/** An attachment as webhooks and emails show it: metadata and a signed link valid for days. */
export type PublicAttachment = {
  id: string;
  filename: string;
  contentType: string;
  byteSize: number;
  checksum: string;
  url: string;
  createdAt: Date;
};

export type SnapshotAttachment = { data: PublicAttachment; storageKey: string };

/** The ticket as it now is, and the message (with its files) the event is about. */
export type Snapshot = {
  ticket: Ticket;
  message?: Message;
  attachments?: readonly SnapshotAttachment[];
  /** Files up to this many bytes in total ride on emails; larger ones are linked. @default 0 */
  emailBytes?: number;
};

/** The ticket as integrations receive it: public IDs, every field. */
function ticketData(ticket: Ticket) {
  return {
    id: encodeId('Ticket', ticket.id),
    number: ticket.number,
    title: ticket.title,
    status: ticket.status,
    priority: ticket.priority,
    category: ticket.category,
    tags: ticket.tags,
    notes: ticket.notes,
    metadata: ticket.metadata,
    customerId: ticket.customerId && encodeId('Customer', ticket.customerId),
    assigneeId: ticket.assigneeId && encodeId('Agent', ticket.assigneeId),
    firstResponseAt: ticket.firstResponseAt,
    responseDeadline: ticket.responseDeadline,
    resolutionDeadline: ticket.resolutionDeadline,
    createdAt: ticket.createdAt,
    updatedAt: ticket.updatedAt,
    closedAt: ticket.closedAt,
    mergedIntoId: ticket.mergedIntoId && encodeId('Ticket', ticket.mergedIntoId),
  };
}

function messageData(message: Message, attachments: readonly SnapshotAttachment[] = []) {
  return {
    id: encodeId('Message', message.id),
    sender: message.sender,
    senderName: message.senderName,
    body: message.body,
    isInternal: message.isInternal,
    createdAt: message.createdAt,
    attachments: attachments.map((a) => a.data),
  };
}

export type WebhookJob = {
  endpointId: string;
  eventId: string;
  eventType: string;
  body: string;
  attempt: number;
  /** The event is an internal note: sent only while the endpoint includes them. */
  internal?: boolean;
};

export type EndpointChoice = { id: string; enabled: boolean; events: string[]; includeInternal: boolean };

/**
 * Whether the endpoint wants an event: enabled, subscribed to its type, and for an
 * internal note, opted in. Checked when the first attempt is queued, and again by
 * every attempt (retries and redeliveries follow the endpoint as it is now).
 */
export function endpointWants(endpoint: Omit<EndpointChoice, 'id'>, job: Pick<WebhookJob, 'eventType' | 'internal'>) {
  return endpoint.enabled && endpoint.events.includes(job.eventType) && (!job.internal || endpoint.includeInternal);
}

/** Queues one delivery attempt; its job key lets each (event, endpoint, attempt) be queued once. */
export function enqueueWebhook(tx: Pick<Tx, '$executeRaw'>, job: WebhookJob, runAt?: Date, queueName?: string): Promise<void> {
  return addJob(tx, 'webhook:deliver', job, { runAt, jobKey: webhookJobKey(job), queueName });
}

const webhookJobKey = (job: WebhookJob) => `webhook:${job.eventId}:${job.endpointId}:${job.attempt}`;

/** Who a team's emails are from and go to: the team's name and inbox, and a customer's address. */
export type Contacts = {
  team: { name: string; supportEmail: string | null };
  customer: { email: string; name: string | null } | null;
};

/**
 * What a change's side effects read of its team: the enabled webhook endpoints and the
 * email contacts. Each is read at most once per change, however many events it records,
 * and a change that has already read them in its own first statement (domain/tickets.ts)
 * gives them here instead, so deciding its emails and webhooks costs no round trip.
 */
export type TeamFacts = {
  endpoints(): Promise<EndpointChoice[]>;
  contacts(customerId: string | null): Promise<Contacts>;
};

export type KnownFacts = {
  endpoints?: EndpointChoice[];
  team?: Contacts['team'];
  /** Customers by id, as read with the team. */
  customers?: ReadonlyMap<string, NonNullable<Contacts['customer']>>;
};

/**
 * The team's enabled endpoints as teamFacts reads them, as a JSON array for a statement
 * that reads them beside other things (`team` is the SQL of the team's id there).
 */
export const enabledEndpointsJson = (team: Prisma.Sql): Prisma.Sql => Prisma.sql`(
  SELECT coalesce(json_agg(json_build_object('id', e.id::text, 'enabled', e.enabled, 'events', e.events, 'includeInternal', e.include_internal)), '[]')
  FROM webhook_endpoints e WHERE e.team_id = ${team} AND e.enabled)`;

export function teamFacts(tx: Tx, teamId: string, known: KnownFacts = {}): TeamFacts {
  let endpoints: Promise<EndpointChoice[]> | undefined = known.endpoints && Promise.resolve(known.endpoints);
  const contacts = new Map<string, Promise<Contacts>>();
  return {
    endpoints: () =>
      (endpoints ??= tx.$queryRaw<EndpointChoice[]>`
        SELECT id::text, enabled, events, include_internal AS "includeInternal" FROM webhook_endpoints WHERE team_id = ${teamId}::uuid AND enabled`),
    contacts(customerId) {
      const key = customerId ?? '';
      const customer = customerId ? known.customers?.get(customerId) : null;
      if (known.team && customer !== undefined) return Promise.resolve({ team: known.team, customer });
      let found = contacts.get(key);
      if (!found) {
        found = readContacts(tx, teamId, customerId);
        contacts.set(key, found);
      }
      return found;
    },
  };
}

async function readContacts(tx: Tx, teamId: string, customerId: string | null): Promise<Contacts> {
  const [found] = await tx.$queryRaw<Array<{ teamName: string; supportEmail: string | null; email: string | null; name: string | null }>>`
    SELECT t.name AS "teamName", t.support_email AS "supportEmail", c.email, c.name
    FROM teams t LEFT JOIN customers c ON c.id = ${customerId}::uuid
    WHERE t.id = ${teamId}::uuid`;
  if (!found) throw new Error(`Team ${teamId} not found for its emails`);
  return { team: { name: found.teamName, supportEmail: found.supportEmail }, customer: found.email ? { email: found.email, name: found.name } : null };
}

/** An event as its side effects see it: everything but its place in the log, which is taken last (see domain/change.ts). */
export type EventOfChange = Omit<TicketEvent, 'seq'>;

async function webhooksFor(event: EventOfChange, snapshot: Snapshot, facts: TeamFacts): Promise<JobSpec[]> {
  const type = WEBHOOK_EVENT_TYPES[event.type];
  const endpoints = (await facts.endpoints()).filter((e) => endpointWants(e, { eventType: type, internal: event.isInternal }));
  if (endpoints.length === 0) return [];
  const eventId = encodeId('TicketEvent', event.id);
  const body = JSON.stringify({
    id: eventId,
    type,
    createdAt: event.occurredAt,
    data: {
      ticket: ticketData(snapshot.ticket),
      ...(snapshot.message && { message: messageData(snapshot.message, snapshot.attachments) }),
      ...(event.changedFields.length > 0 && { changes: event.changes }),
    },
  });
  return endpoints.map((endpoint) => {
    const job: WebhookJob = { endpointId: endpoint.id, eventId: event.id, eventType: type, body, attempt: 1, internal: event.isInternal };
    return { task: 'webhook:deliver', payload: job, jobKey: webhookJobKey(job) };
  });
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const STATUS_WORDS: Record<string, string> = {
  NEW: 'new',
  OPEN: 'open',
  IN_PROGRESS: 'in progress',
  PENDING: 'waiting for your reply',
  RESOLVED: 'resolved',
  CLOSED: 'closed',
};

/** A mail of the ticket's thread; without `replyId` it starts the thread. */
function email(ticket: Ticket, replyId: string | undefined, to: string, subject: string, paragraphs: string[]): Email {
  const thread = `<ticket-${ticket.id}@ticketql>`;
  return {
    to,
    subject,
    text: `${paragraphs.join('\n\n')}\n`,
    html: `<!doctype html><html><body>${paragraphs.map((p) => `<p>${escapeHtml(p).replace(/\n/g, '<br>')}</p>`).join('')}</body></html>`,
    messageId: replyId ? `<ticket-${ticket.id}-${replyId}@ticketql>` : thread,
    ...(replyId && { inReplyTo: thread, references: thread }),
  };
}

const sizeOf = (bytes: number) => (bytes < 1024 ? `${bytes} B` : bytes < 1_048_576 ? `${Math.round(bytes / 1024)} KiB` : `${(bytes / 1_048_576).toFixed(1)} MiB`);

/**
 * The files of a public message on its email: attached while they are small enough
 * together, else a paragraph of links (signed, valid for days).
 */
function withFiles(mail: Email, { attachments = [], emailBytes = 0 }: Snapshot): Email {
  if (attachments.length === 0) return mail;
  const total = attachments.reduce((sum, a) => sum + a.data.byteSize, 0);
  if (total <= emailBytes) {
    return { ...mail, attachments: attachments.map((a) => ({ filename: a.data.filename, contentType: a.data.contentType, storageKey: a.storageKey })) };
  }
  const links = `Files:\n${attachments.map((a) => `${a.data.filename} (${sizeOf(a.data.byteSize)}): ${a.data.url}`).join('\n')}`;
  return {
    ...mail,
    text: `${mail.text}\n${links}\n`,
    html: mail.html.replace('</body>', `<p>Files:<br>${attachments.map((a) => `<a href="${escapeHtml(a.data.url)}">${escapeHtml(a.data.filename)}</a> (${sizeOf(a.data.byteSize)})`).join('<br>')}</p></body>`),
  };
}

/** The emails an event causes: never for an internal note, never containing one or its files. */
async function emailsFor(event: EventOfChange, snapshot: Snapshot, facts: TeamFacts): Promise<Email[]> {
  const { ticket, message } = snapshot;
  const needsCustomer =
    event.type === 'CREATED' ||
    event.type === 'MERGED' ||
    (event.type === 'UPDATED' && event.changedFields.includes('status')) ||
    (event.type === 'MESSAGE_ADDED' && message && !message.isInternal && message.sender === 'AGENT');
  if (!needsCustomer) return [];
  const { team, customer } = await facts.contacts(ticket.customerId);
  const tag = `[#${ticket.number}] ${ticket.title}`;
  const greeting = customer?.name ? `Hello ${customer.name},` : 'Hello,';
  const out: Email[] = [];
  if (event.type === 'CREATED') {
    if (customer) {
      out.push(
        email(ticket, undefined, customer.email, tag, [
          greeting,
          `We received your request "${ticket.title}" (ticket #${ticket.number}). ${team.name} will get back to you.`,
          ...(message ? [`Your message:\n${message.body}`] : []),
        ]),
      );
    }
    if (team.supportEmail) {
      out.push(
        withFiles(
          email(ticket, `${event.id}-team`, team.supportEmail, `New ticket ${tag}`, [
            `New ticket #${ticket.number} from ${customer?.email ?? 'an unknown customer'}: "${ticket.title}" (priority ${ticket.priority.toLowerCase()}).`,
            ...(message ? [message.body] : []),
          ]),
          snapshot,
        ),
      );
    }
  } else if (customer && event.type === 'MERGED') {
    out.push(email(ticket, event.id, customer.email, `${tag}: merged`, [greeting, message?.body ?? `Your ticket #${ticket.number} was merged.`]));
  } else if (customer && event.type === 'UPDATED') {
    out.push(email(ticket, event.id, customer.email, `${tag}: ${STATUS_WORDS[ticket.status]}`, [greeting, `Your ticket #${ticket.number} is now ${STATUS_WORDS[ticket.status]}.`]));
  } else if (customer && message) {
    out.push(withFiles(email(ticket, event.id, customer.email, `Re: ${tag}`, [`${message.senderName ?? team.name} wrote:`, message.body]), snapshot));
  }
  return out;
}

/** The queue of a ticket's mails (graphile-worker named queue). */
export const ticketMailQueue = (ticketId: string) => `mail:${ticketId}`;

/** The jobs an event causes (its webhooks, then its emails), for the change to queue with its others. */
export async function sideEffectsOf(event: EventOfChange, snapshot: Snapshot, facts: TeamFacts): Promise<JobSpec[]> {
  const webhooks = await webhooksFor(event, snapshot, facts);
  // One queue per ticket: its mails leave one at a time, in the order of its events,
  // so a slow reply (large files) is never overtaken by the status mail after it.
  const emails = (await emailsFor(event, snapshot, facts)).map(
    (mail): JobSpec => ({ task: 'email:send', payload: mail, maxAttempts: 10, queueName: ticketMailQueue(snapshot.ticket.id) }),
  );
  return [...webhooks, ...emails];
}
