import * as endpoints from '../../domain/webhook-endpoints.js';
import { notFound } from '../../errors.js';
import { encodeId } from '../../ids.js';
import { visibleWebhookEndpoints } from '../../auth/visibility.js';
import type { Context } from '../../context.js';
import { builder } from '../builder.js';
import { payloadCursor } from '../common/payloads.js';
import { adminOnly } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { pageSizeLimit } from '../common/paging.js';
import { parseCursor } from '../../live/streams.js';
import { WebhookDelivery, WebhookEndpoint } from './types.js';

const endpointUuid = (id: string) => uuidOf('WebhookEndpoint', id, 'input.id');

async function ownEndpoint(ctx: Context, id: string) {
  const endpoint = await ctx.db.webhookEndpoint.findFirst({ where: { id: endpointUuid(id), AND: [visibleWebhookEndpoints(ctx.viewer)] } });
  if (!endpoint) throw notFound('Webhook endpoint');
  return endpoint;
}

builder.queryFields((t) => ({
  webhookEndpoints: t.prismaConnection(
    {
      type: WebhookEndpoint,
      description: "The team's webhook endpoints (admins).",
      authScopes: adminOnly,
      cursor: 'id',
      maxSize: pageSizeLimit,
      resolve: (query, _root, _args, { db, viewer }) =>
        db.webhookEndpoint.findMany({ ...query, where: visibleWebhookEndpoints(viewer), orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] }),
    },
    { name: 'WebhookEndpointConnection', description: 'A page of webhook endpoints.' },
    { name: 'WebhookEndpointEdge', description: 'A webhook endpoint in a page.' },
  ),
  webhookDeliveries: t.prismaConnection(
    {
      type: WebhookDelivery,
      description: 'Delivery attempts of an endpoint, newest first (admins).',
      authScopes: adminOnly,
      cursor: 'id',
      maxSize: pageSizeLimit,
      args: { endpointId: t.arg.id({ required: true, description: 'The endpoint (whe_… or UUID).' }) },
      resolve: async (query, _root, { endpointId }, ctx) => {
        const endpoint = await ownEndpoint(ctx, endpointId);
        return ctx.db.webhookDelivery.findMany({ ...query, where: { endpointId: endpoint.id }, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }] });
      },
    },
    { name: 'WebhookDeliveryConnection', description: 'A page of delivery attempts.' },
    { name: 'WebhookDeliveryEdge', description: 'A delivery attempt in a page.' },
  ),
}));

builder.relayMutationField(
  'createWebhookEndpoint',
  {
    description: 'The new endpoint.',
    inputFields: (t) => ({
      url: t.string({ required: true, description: 'Where to POST events (https; http://localhost outside production).' }),
      events: t.stringList({ required: true, description: `Event types to send: ${endpoints.EVENT_NAMES.join(', ')}.` }),
      description: t.string({ description: 'What it is for.' }),
      includeInternal: t.boolean({ description: 'Also send ticket.message_added for internal notes. Default false.' }),
    }),
  },
  {
    description: 'Adds a webhook endpoint (admins). Its signing secret is in the payload, and shown only then.',
    authScopes: adminOnly,
    resolve: (_root, { input }, ctx) => endpoints.createWebhookEndpoint(ctx, ctx.viewer.teamId!, input, ctx),
  },
  {
    description: 'The endpoint and its signing secret.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      webhookEndpoint: t.field({ type: WebhookEndpoint, description: 'The endpoint.', resolve: (r) => r.webhookEndpoint }),
      signingSecret: t.string({ description: 'The signing secret (whsec_…). Shown once: store it now.', resolve: (r) => r.signingSecret }),
    }),
  },
);

builder.relayMutationField(
  'updateWebhookEndpoint',
  {
    description: 'The fields to change.',
    inputFields: (t) => ({
      id: t.id({ required: true, description: 'The endpoint (whe_… or UUID).' }),
      url: t.string({ description: 'New URL.' }),
      events: t.stringList({ description: 'New event types.' }),
      description: t.string({ description: 'New description; null clears it.' }),
      includeInternal: t.boolean({ description: 'Whether internal notes are sent.' }),
      enabled: t.boolean({ description: 'Enable (again) or disable the endpoint.' }),
    }),
  },
  {
    description: 'Changes a webhook endpoint (admins). Enabling it clears its failure state.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const webhookEndpoint = await endpoints.updateWebhookEndpoint(
        ctx,
        ctx.viewer,
        endpointUuid(input.id),
        {
          url: input.url ?? undefined,
          events: input.events ?? undefined,
          description: input.description,
          includeInternal: input.includeInternal,
          enabled: input.enabled,
        },
        ctx,
      );
      return { webhookEndpoint };
    },
  },
  {
    description: 'The changed endpoint.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      webhookEndpoint: t.field({ type: WebhookEndpoint, description: 'The endpoint.', resolve: (r) => r.webhookEndpoint }),
    }),
  },
);

builder.relayMutationField(
  'rotateWebhookSecret',
  {
    description: 'The endpoint whose secret to replace.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The endpoint (whe_… or UUID).' }) }),
  },
  {
    description: 'Replaces the signing secret (admins). For 24 hours deliveries are signed with both the old and the new one.',
    authScopes: adminOnly,
    resolve: (_root, { input }, ctx) => endpoints.rotateWebhookSecret(ctx, ctx.viewer, endpointUuid(input.id)),
  },
  {
    description: 'The endpoint and its new secret.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      webhookEndpoint: t.field({ type: WebhookEndpoint, description: 'The endpoint.', resolve: (r) => r.webhookEndpoint }),
      signingSecret: t.string({ description: 'The new signing secret. Shown once: store it now.', resolve: (r) => r.signingSecret }),
    }),
  },
);

builder.relayMutationField(
  'deleteWebhookEndpoint',
  {
    description: 'The endpoint to delete.',
    inputFields: (t) => ({ id: t.id({ required: true, description: 'The endpoint (whe_… or UUID).' }) }),
  },
  {
    description: 'Deletes a webhook endpoint and its delivery history (admins). Pending deliveries are dropped.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const endpoint = await endpoints.deleteWebhookEndpoint(ctx, ctx.viewer, endpointUuid(input.id));
      return { deletedWebhookEndpointId: encodeId('WebhookEndpoint', endpoint.id) };
    },
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      deletedWebhookEndpointId: t.id({ description: 'ID of the deleted endpoint.', resolve: (r) => r.deletedWebhookEndpointId }),
    }),
  },
);

builder.relayMutationField(
  'redeliverWebhook',
  {
    description: 'The delivery to send again.',
    inputFields: (t) => ({ deliveryId: t.id({ required: true, description: 'A delivery attempt (whd_… or UUID).' }) }),
  },
  {
    description: 'Sends the event of a delivery to its endpoint again, now (admins). The new attempt appears in webhookDeliveries.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const id = uuidOf('WebhookDelivery', input.deliveryId, 'input.deliveryId');
      const { delivery, attempt } = await endpoints.redeliverWebhook(ctx, ctx.viewer, id);
      return { deliveryId: encodeId('WebhookDelivery', delivery.id), attempt };
    },
  },
  {
    description: 'The redelivery that was queued.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      attempt: t.int({ description: 'The attempt number the redelivery will have.', resolve: (r) => r.attempt }),
    }),
  },
);

builder.relayMutationField(
  'replayWebhooks',
  {
    description: 'The endpoint and the range of the event log to send again.',
    inputFields: (t) => ({
      endpointId: t.id({ required: true, description: 'The endpoint (whe_… or UUID).' }),
      after: t.string({ required: true, description: 'Replay the events after this cursor of the log (TicketEvent.cursor; "0" for the beginning).' }),
      before: t.string({ description: 'And before this cursor (not included); unset: up to the end of the log.' }),
    }),
  },
  {
    description:
      'Sends the endpoint the events of a range of the log again, in order, as new delivery attempts with the same webhook-ids and bodies (admins). ' +
      `Only events the endpoint was sent, and may receive now, are replayed; at most ${endpoints.REPLAY_MAX_EVENTS} events per call (hasMore, lastCursor), and 10 calls per endpoint and hour. The attempts appear in webhookDeliveries.`,
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const after = parseCursor(input.after, 'input.after');
      const before = input.before == null ? undefined : parseCursor(input.before, 'input.before');
      const result = await endpoints.replayWebhooks(ctx, ctx.viewer, endpointUuid(input.endpointId), { after, before }, (id) =>
        ctx.limits.webhookReplays.consume(id),
      );
      return { ...result, lastCursor: result.lastCursor?.toString() ?? null };
    },
  },
  {
    description: 'What the replay queued.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      queuedCount: t.int({ description: 'Events queued to be sent again.', resolve: (r) => r.queued }),
      refusedCount: t.int({
        description: 'Events of the range the endpoint was sent but may not receive now (its event types or includeInternal changed): not sent.',
        resolve: (r) => r.refused,
      }),
      lastCursor: t.string({ nullable: true, description: 'The last event of the range this call looked at; pass it as `after` to go on.', resolve: (r) => r.lastCursor }),
      hasMore: t.boolean({ description: `Whether the range holds more than ${endpoints.REPLAY_MAX_EVENTS} events: call again with after = lastCursor.`, resolve: (r) => r.hasMore }),
    }),
  },
);
