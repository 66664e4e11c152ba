// Signed, expiring links: the signature is the credential, so an <img src> or a
// link in an email works without an Authorization header. HMAC-SHA256 over what
// the link may do, with a key derived from the server's JWT secret.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type LinkPurpose = 'download' | 'upload';

/** How long links live: answers are read at once; emails and webhooks may be read days later. */
export const LINK_SECONDS = { answer: 3600, upload: 3600, message: 7 * 24 * 3600 } as const;

export type Links = {
  /** `?expires=…&signature=…` for a link to `id` that works until `expires` (Unix seconds). */
  query(purpose: LinkPurpose, id: string, expires: number): string;
  /** Whether the query of a link is a valid, unexpired one for `id`. */
  verify(purpose: LinkPurpose, id: string, params: URLSearchParams, now?: number): 'ok' | 'expired' | 'invalid';
};

export function createLinks(secret: string): Links {
  const key = createHmac('sha256', secret).update('ticketql attachment links').digest();
  const sign = (purpose: LinkPurpose, id: string, expires: number) =>
    createHmac('sha256', key).update(`${purpose}:${id}:${expires}`).digest('base64url');
  return {
    query: (purpose, id, expires) => `expires=${expires}&signature=${sign(purpose, id, expires)}`,
    verify(purpose, id, params, now = Date.now()) {
      const expires = Number(params.get('expires'));
      const given = Buffer.from(params.get('signature') ?? '');
      const expected = Buffer.from(sign(purpose, id, expires));
      if (!Number.isSafeInteger(expires) || given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
      return expires * 1000 < now ? 'expired' : 'ok';
    },
  };
}
