import { z } from 'zod';
import * as v from '../../domain/validation.js';
import { badInput, conflict, notFound } from '../../errors.js';
import { encodeId } from '../../ids.js';
import { endpointWants, enqueueWebhook, WEBHOOK_EVENT_TYPES, type WebhookJob } from '../../jobs/side-effects.js';
import { newSigningSecret } from '../../webhooks/signing.js';
import { refuseUrl } from '../../webhooks/url-policy.js';
import { visibleWebhookEndpoints } from '../../auth/visibility.js';
import type { Context } from '../../context.js';
import { builder } from '../builder.js';
import { adminOnly } from '../common/scopes.js';
import { uuidOf } from '../common/global-ids.js';
import { pageSizeLimit } from '../common/paging.js';
import { WebhookDelivery, WebhookEndpoint } from './types.js';

const EVENT_NAMES = Object.values(WEBHOOK_EVENT_TYPES) as [string, ...string[]];
const ROTATION_GRACE_MS = 24 * 3600_000;

const EndpointFields = z.object({
  url: v.url,
  events: z.array(z.enum(EVENT_NAMES, `must be one of ${EVENT_NAMES.join(', ')}`)).min(1, 'give at least one event type').transform((e) => [...new Set(e)]),
  description: z.string().max(500).nullish(),
  includeInternal: z.boolean().nullish(),
});

async function checkUrl(url: string, ctx: Context) {
  const reason = await refuseUrl(url, { production: ctx.production });
  if (reason) throw badInput([{ path: 'input.url', message: reason }]);
}

async function ownEndpoint(ctx: Context, id: string) {
  const endpoint = await ctx.db.webhookEndpoint.findFirst({ where: { id: uuidOf('WebhookEndpoint', id, 'input.id'), AND: [visibleWebhookEndpoints(ctx.viewer)] } });
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
      events: t.stringList({ required: true, description: `Event types to send: ${EVENT_NAMES.join(', ')}.` }),
      description: t.string({ description: 'What it is for.' }),
      includeInternal: t.boolean({ description: 'Also send ticket.message_added for internal notes. Default false.' }),
    }),
  },
  {
    description: 'Adds a webhook endpoint (admins). Its signing secret is in the payload, and shown only then.',
    authScopes: adminOnly,
    resolve: async (_root, { input }, ctx) => {
      const data = v.parseInput(EndpointFields, input);
      await checkUrl(data.url, ctx);
      const signingSecret = newSigningSecret();
      const webhookEndpoint = await ctx.db.webhookEndpoint.create({
        data: {
          teamId: ctx.viewer.teamId!,
          url: data.url,
          events: data.events,
          description: data.description ?? null,
          includeInternal: data.includeInternal ?? false,
          secret: signingSecret,
        },
      });
      return { webhookEndpoint, signingSecret };
    },
  },
  {
    description: 'The endpoint and its signing secret.',
    outputFields: (t) => ({
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
      const endpoint = await ownEndpoint(ctx, input.id);
      const data = v.parseInput(EndpointFields.partial(), {
        url: input.url ?? undefined,
        events: input.events ?? undefined,
        description: input.description,
        includeInternal: input.includeInternal,
      });
      if (data.url) await checkUrl(data.url, ctx);
      const webhookEndpoint = await ctx.db.webhookEndpoint.update({
        where: { id: endpoint.id },
        data: {
          ...(data.url !== undefined && { url: data.url }),
          ...(data.events !== undefined && { events: data.events }),
          ...(data.description !== undefined && { description: data.description }),
          ...(data.includeInternal != null && { includeInternal: data.includeInternal }),
          ...(input.enabled != null && { enabled: input.enabled }),
          ...(input.enabled === true && { failingSince: null, disabledAt: null }),
        },
      });
      return { webhookEndpoint };
    },
  },
  {
    description: 'The changed endpoint.',
    outputFields: (t) => ({
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
    resolve: async (_root, { input }, ctx) => {
      const endpoint = await ownEndpoint(ctx, input.id);
      const signingSecret = newSigningSecret();
      const webhookEndpoint = await ctx.db.webhookEndpoint.update({
        where: { id: endpoint.id },
        data: { secret: signingSecret, previousSecret: endpoint.secret, previousSecretExpiresAt: new Date(Date.now() + ROTATION_GRACE_MS) },
      });
      return { webhookEndpoint, signingSecret };
    },
  },
  {
    description: 'The endpoint and its new secret.',
    outputFields: (t) => ({
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
      const endpoint = await ownEndpoint(ctx, input.id);
      await ctx.db.webhookEndpoint.delete({ where: { id: endpoint.id } });
      return { deletedWebhookEndpointId: encodeId('WebhookEndpoint', endpoint.id) };
    },
  },
  {
    description: 'What was deleted.',
    outputFields: (t) => ({
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
      const delivery = await ctx.db.webhookDelivery.findFirst({
        where: { id, endpoint: visibleWebhookEndpoints(ctx.viewer) },
        include: { endpoint: { select: { enabled: true, events: true, includeInternal: true } } },
      });
      if (!delivery) throw notFound('Webhook delivery');
      const [last, event] = await Promise.all([
        ctx.db.webhookDelivery.aggregate({ where: { endpointId: delivery.endpointId, eventId: delivery.eventId }, _max: { attempt: true } }),
        ctx.db.ticketEvent.findUnique({ where: { id: delivery.eventId }, select: { isInternal: true } }),
      ]);
      const job: WebhookJob = {
        endpointId: delivery.endpointId,
        eventId: delivery.eventId,
        eventType: delivery.eventType,
        body: JSON.stringify(delivery.payload),
        attempt: (last._max.attempt ?? delivery.attempt) + 1,
        internal: event?.isInternal ?? true, // events outlive their tickets; if one is missing, assume the stricter case
      };
      if (!endpointWants(delivery.endpoint, job)) {
        throw conflict(
          !delivery.endpoint.enabled
            ? 'The endpoint is disabled; enable it before redelivering'
            : 'The endpoint no longer receives this event (its event types or includeInternal changed)',
        );
      }
      await enqueueWebhook(ctx.db, job);
      return { deliveryId: encodeId('WebhookDelivery', delivery.id), attempt: job.attempt };
    },
  },
  {
    description: 'The redelivery that was queued.',
    outputFields: (t) => ({
      attempt: t.int({ description: 'The attempt number the redelivery will have.', resolve: (r) => r.attempt }),
    }),
  },
);
