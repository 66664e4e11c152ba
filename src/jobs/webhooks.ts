// Delivering one webhook: sign, POST, record the attempt, and schedule the next
// attempt (exponential backoff with jitter) in the same transaction as the record.
import type { Db } from '../db.js';
import type { Tx } from '../db.js';
import { encodeId } from '../ids.js';
import { signatureHeaders } from '../webhooks/signing.js';
import { refuseUrl, type UrlPolicy } from '../webhooks/url-policy.js';
import { endpointWants, enqueueWebhook, type WebhookJob } from './side-effects.js';

/** An endpoint failing for this long is disabled (and its team told by email). */
export const DISABLE_AFTER_MS = 3 * 24 * 3600_000;
const TIMEOUT_MS = 10_000;

export type WebhookDeps = {
  db: Db;
  policy: UrlPolicy;
  retrySchedule: number[];
  /** Called (in the transaction) when an endpoint gets disabled. */
  onDisabled?: (tx: Tx, endpoint: { id: string; teamId: string; url: string }) => Promise<void>;
};

/** ±20%, so that retries of many deliveries do not arrive together. */
const withJitter = (seconds: number) => seconds * 1000 * (0.8 + Math.random() * 0.4);

async function post(url: string, headers: Record<string, string>, body: string) {
  const started = Date.now();
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'ticketql-webhooks/1', ...headers },
      body,
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    await res.body?.cancel();
    const ok = res.status >= 200 && res.status < 300;
    return { status: res.status, error: ok ? null : `HTTP ${res.status}`, durationMs: Date.now() - started };
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    return { status: null, error: cause ?? (err as Error).message, durationMs: Date.now() - started };
  }
}

/** The record of a run that stopped between its request and its record. */
export const UNRECORDED = 'The worker stopped before this attempt’s answer was recorded; the receiver may have received it';

/**
 * Sends one attempt and records it. `rerun`: an earlier run of this job stopped
 * unfinished, so it is recorded first as an attempt whose answer is unknown (every
 * attempt that may have reached the receiver has its record; the receiver drops the
 * duplicate by its webhook-id).
 */
export async function deliverWebhook(deps: WebhookDeps, job: WebhookJob, rerun = false): Promise<void> {
  const { db } = deps;
  const endpoint = await db.webhookEndpoint.findUnique({ where: { id: job.endpointId } });
  // Deleted, disabled, or no longer wanting this event (type, internal notes) since:
  // retries and redeliveries follow the endpoint's settings as they are now.
  if (!endpoint || !endpointWants(endpoint, job)) return;
  if (rerun) {
    await db.webhookDelivery.create({
      data: { endpointId: endpoint.id, eventId: job.eventId, eventType: job.eventType, attempt: job.attempt, payload: JSON.parse(job.body), error: UNRECORDED },
    });
  }

  const now = new Date();
  const secrets = [endpoint.secret];
  if (endpoint.previousSecret && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt > now) {
    secrets.push(endpoint.previousSecret);
  }
  const refused = await refuseUrl(endpoint.url, deps.policy);
  const result = refused
    ? { status: null, error: `URL refused: ${refused}`, durationMs: 0 }
    : await post(endpoint.url, signatureHeaders(secrets, encodeId('TicketEvent', job.eventId), Math.floor(now.getTime() / 1000), job.body), job.body);

  await db.$transaction(async (tx) => {
    await tx.webhookDelivery.create({
      data: {
        endpointId: endpoint.id,
        eventId: job.eventId,
        eventType: job.eventType,
        attempt: job.attempt,
        payload: JSON.parse(job.body),
        responseStatus: result.status,
        durationMs: result.durationMs,
        error: result.error,
        succeeded: !result.error,
      },
    });
    if (!result.error) {
      if (endpoint.failingSince) await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { failingSince: null } });
      return;
    }
    const failingSince = endpoint.failingSince ?? now;
    if (now.getTime() - failingSince.getTime() >= DISABLE_AFTER_MS) {
      await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { enabled: false, disabledAt: now } });
      await deps.onDisabled?.(tx, endpoint);
      return;
    }
    if (!endpoint.failingSince) await tx.webhookEndpoint.update({ where: { id: endpoint.id }, data: { failingSince } });
    const delay = deps.retrySchedule[job.attempt - 1];
    if (delay === undefined) return; // out of attempts; redeliverWebhook can try again
    await enqueueWebhook(tx, { ...job, attempt: job.attempt + 1 }, new Date(now.getTime() + withJitter(delay)));
  });
}
