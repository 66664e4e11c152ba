import type http from 'node:http';

/**
 * The client's IP address. Behind `trustedProxies` proxies, each of which appends the
 * address it was reached from to X-Forwarded-For, the client is the entry that many
 * from the right; entries further left are whatever the client sent, and not trusted.
 */
export function clientIpOf(req: http.IncomingMessage, trustedProxies: number): string {
  const direct = req.socket.remoteAddress || 'unknown';
  if (trustedProxies <= 0) return direct;
  const header = req.headers['x-forwarded-for'];
  const entries = (Array.isArray(header) ? header.join(',') : (header ?? ''))
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  return entries[entries.length - trustedProxies] ?? entries[0] ?? direct;
}
