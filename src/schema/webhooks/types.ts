import { encodeId } from '../../ids.js';
import { visibleWebhookEndpoints } from '../../auth/visibility.js';
import { builder } from '../builder.js';
import { adminOnly } from '../common/scopes.js';

export const WebhookEndpoint = builder.prismaNode('WebhookEndpoint', {
  description: 'A URL that receives signed ticket events (admins).',
  id: { field: 'id', description: 'The endpoint ID (whe_…).' },
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, AND: [visibleWebhookEndpoints(viewer)] }),
  authScopes: adminOnly,
  fields: (t) => ({
    url: t.exposeString('url', { description: 'Where events are POSTed.' }),
    description: t.exposeString('description', { nullable: true, description: 'What the endpoint is for.' }),
    events: t.exposeStringList('events', {
      description: 'Event types sent: ticket.created, ticket.updated, ticket.closed, ticket.message_added, ticket.assigned, ticket.deleted.',
    }),
    includeInternal: t.exposeBoolean('includeInternal', {
      description: 'Whether ticket.message_added is also sent for internal notes.',
    }),
    enabled: t.exposeBoolean('enabled', { description: 'Disabled endpoints receive nothing (set after 3 days of failures).' }),
    failingSince: t.expose('failingSince', {
      type: 'DateTime',
      nullable: true,
      description: 'Since when deliveries fail; null while they succeed.',
    }),
    disabledAt: t.expose('disabledAt', { type: 'DateTime', nullable: true, description: 'When it was disabled for failing.' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When it was created.' }),
  }),
});

export const WebhookDelivery = builder.prismaNode('WebhookDelivery', {
  description: 'One attempt to deliver an event to an endpoint.',
  id: { field: 'id', description: 'The delivery ID (whd_…).' },
  nullable: true,
  findUnique: (id, { viewer }) => ({ id, endpoint: visibleWebhookEndpoints(viewer) }),
  authScopes: adminOnly,
  fields: (t) => ({
    endpoint: t.relation('endpoint', { description: 'Where it was sent.' }),
    eventId: t.id({ description: 'The event (evt_…): the webhook-id header and the body id.', resolve: (d) => encodeId('TicketEvent', d.eventId) }),
    eventType: t.exposeString('eventType', { description: 'ticket.created, ticket.updated, …' }),
    attempt: t.exposeInt('attempt', { description: '1 for the first attempt, 2 for the first retry, …' }),
    payload: t.expose('payload', { type: 'JSON', description: 'The JSON body that was sent.' }),
    succeeded: t.exposeBoolean('succeeded', { description: 'Whether the receiver answered 2xx.' }),
    responseStatus: t.exposeInt('responseStatus', { nullable: true, description: 'HTTP status of the answer, if any.' }),
    durationMs: t.exposeInt('durationMs', { nullable: true, description: 'How long the attempt took.' }),
    error: t.exposeString('error', { nullable: true, description: 'Why it failed: a status, a timeout, a refused URL, …' }),
    createdAt: t.expose('createdAt', { type: 'DateTime', description: 'When the attempt was made.' }),
  }),
});
