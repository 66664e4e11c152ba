// docs/examples/verify-webhook.mjs: checks the Standard Webhooks signature of a
// delivery in Node.js. `headers` are the request's (lowercase names), `rawBody` the
// body exactly as received, before any JSON parsing; `secret` is the whsec_… secret.
import { createHmac, timingSafeEqual } from 'node:crypto';

export function verify(secret, headers, rawBody, toleranceSeconds = 300) {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  // An old timestamp: a delivery recorded and sent again by someone else.
  if (!id || !timestamp || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest();
  // Several signatures, space-separated, while a rotated secret's old one still signs.
  return String(headers['webhook-signature'] ?? '').split(' ').some((signature) => {
    const [version, value] = signature.split(',');
    const given = Buffer.from(value ?? '', 'base64');
    return version === 'v1' && given.length === expected.length && timingSafeEqual(given, expected);
  });
}
