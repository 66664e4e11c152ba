// Webhook endpoints of a team, their signing secrets, and redeliveries.
import { z } from 'zod';
import type { Viewer } from '../auth/viewer.js';
import { visibleWebhookEndpoints } from '../auth/visibility.js';
import type { Tx } from '../db.js';
import { badInput, conflict, notFound } from '../errors.js';
import { endpointWants, enqueueWebhook, WEBHOOK_EVENT_TYPES, type WebhookJob } from '../jobs/side-effects.js';
import { newSigningSecret } from '../webhooks/signing.js';
import { refuseUrl } from '../webhooks/url-policy.js';
import { change, type Deps } from './change.js';
import * as v from './validation.js';

export const EVENT_NAMES = Object.values(WEBHOOK_EVENT_TYPES) as [string, ...string[]];
const ROTATION_GRACE_MS = 24 * 3600_000;

const EndpointFields = z.object({
  url: v.url,
  events: z
    .array(z.enum(EVENT_NAMES, `must be one of ${EVENT_NAMES.join(', ')}`))
    .min(1, 'give at least one event type')
    .transform((e) => [...new Set(e)]),
  description: z.string().max(500).nullish(),
  includeInternal: z.boolean().nullish(),
});
const UpdateEndpointInput = EndpointFields.partial().extend({ enabled: z.boolean().nullish() });

/** Where deliveries may go: stricter in production (https, public addresses only). */
export type UrlPolicy = { production: boolean };

// Before the transaction: the policy may resolve the host name.
async function checkUrl(url: string, policy: UrlPolicy) {
  const reason = await refuseUrl(url, policy);
  if (reason) throw badInput([{ path: 'input.url', message: reason }]);
}

async function ownEndpoint(tx: Tx, viewer: Viewer, id: string) {
  const endpoint = await tx.webhookEndpoint.findFirst({ where: { id, AND: [visibleWebhookEndpoints(viewer)] } });
  if (!endpoint) throw notFound('Webhook endpoint');
  return endpoint;
}

/** A new endpoint and its signing secret (whsec_…), which only this answer shows. */
export async function createWebhookEndpoint(deps: Deps, teamId: string, raw: z.input<typeof EndpointFields>, policy: UrlPolicy) {
  const input = v.parseInput(EndpointFields, raw);
  await checkUrl(input.url, policy);
  // The secret is part of the change's result: a retried request must not make a new one.
  return change(deps, async ({ tx }) => {
    const signingSecret = newSigningSecret();
    const webhookEndpoint = await tx.webhookEndpoint.create({
      data: {
        teamId,
        url: input.url,
        events: input.events,
        description: input.description ?? null,
        includeInternal: input.includeInternal ?? false,
        secret: signingSecret,
      },
    });
    return { webhookEndpoint, signingSecret };
  });
}

/** Changes an endpoint; enabling it (again) clears its failure state. */
export async function updateWebhookEndpoint(deps: Deps, viewer: Viewer, id: string, raw: z.input<typeof UpdateEndpointInput>, policy: UrlPolicy) {
  const input = v.parseInput(UpdateEndpointInput, raw);
  if (input.url) await checkUrl(input.url, policy);
  return change(deps, async ({ tx }) => {
    const endpoint = await ownEndpoint(tx, viewer, id);
    return tx.webhookEndpoint.update({
      where: { id: endpoint.id },
      data: {
        ...(input.url !== undefined && { url: input.url }),
        ...(input.events !== undefined && { events: input.events }),
        ...(input.description !== undefined && { description: input.description }),
        ...(input.includeInternal != null && { includeInternal: input.includeInternal }),
        ...(input.enabled != null && { enabled: input.enabled }),
        ...(input.enabled === true && { failingSince: null, disabledAt: null }),
      },
    });
  });
}

/** A new signing secret; for 24 hours deliveries are signed with the old one as well. */
export async function rotateWebhookSecret(deps: Deps, viewer: Viewer, id: string) {
  return change(deps, async ({ tx }) => {
    const endpoint = await ownEndpoint(tx, viewer, id);
    const signingSecret = newSigningSecret();
    const webhookEndpoint = await tx.webhookEndpoint.update({
      where: { id: endpoint.id },
      data: { secret: signingSecret, previousSecret: endpoint.secret, previousSecretExpiresAt: new Date(Date.now() + ROTATION_GRACE_MS) },
    });
    return { webhookEndpoint, signingSecret };
  });
}

/** Deletes an endpoint with its delivery history; its pending deliveries are dropped when they run. */
export async function deleteWebhookEndpoint(deps: Deps, viewer: Viewer, id: string) {
  return change(deps, async ({ tx }) => {
    const endpoint = await ownEndpoint(tx, viewer, id);
    await tx.webhookEndpoint.delete({ where: { id: endpoint.id } });
    return endpoint;
  });
}

/**
 * Queues the event of a delivery to its endpoint again, as the next attempt. CONFLICT
 * when the endpoint would not receive it now (disabled, or no longer subscribed to it).
 */
export async function redeliverWebhook(deps: Deps, viewer: Viewer, deliveryId: string) {
  return change(deps, async ({ tx }) => {
    const delivery = await tx.webhookDelivery.findFirst({
      where: { id: deliveryId, endpoint: visibleWebhookEndpoints(viewer) },
      include: { endpoint: { select: { enabled: true, events: true, includeInternal: true } } },
    });
    if (!delivery) throw notFound('Webhook delivery');
    const last = await tx.webhookDelivery.aggregate({ where: { endpointId: delivery.endpointId, eventId: delivery.eventId }, _max: { attempt: true } });
    const event = await tx.ticketEvent.findUnique({ where: { id: delivery.eventId }, select: { isInternal: true } });
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
    await enqueueWebhook(tx, job);
    return { delivery, attempt: job.attempt };
  });
}
