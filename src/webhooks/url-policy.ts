// Where webhooks may be sent. In production: https only, and never to an
// address of the private network, loopback or link-local ranges (SSRF),
// checked when the endpoint is saved and again at each delivery (DNS can change).
// Outside production, http is allowed for localhost receivers.
import { lookup } from 'node:dns/promises';
import ipaddr from 'ipaddr.js';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export type UrlPolicy = { production: boolean };

/** Why the URL may not receive webhooks, or undefined when it may. */
export async function refuseUrl(raw: string, policy: UrlPolicy): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not contain credentials';
  const local = LOCAL_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local && !policy.production)) {
    return policy.production ? 'must use https' : 'must use https (http only for localhost outside production)';
  }
  if (!policy.production) return undefined;
  let addresses: string[];
  try {
    addresses = (await lookup(url.hostname.replace(/^\[|\]$/g, ''), { all: true })).map((a) => a.address);
  } catch {
    return 'host does not resolve';
  }
  for (const address of addresses) {
    const range = rangeOf(address);
    if (range !== 'unicast') return `resolves to a ${range} address`;
  }
  return undefined;
}

/**
 * The address's range, for the address a connection would really reach: IPv4-mapped
 * (::ffff:a.b.c.d) and the deprecated IPv4-compatible (::a.b.c.d) IPv6 addresses are
 * judged by their IPv4 address.
 */
function rangeOf(address: string): string {
  const parsed = ipaddr.process(address);
  if (parsed.kind() === 'ipv6') {
    const parts = (parsed as ipaddr.IPv6).parts;
    if (parts.slice(0, 6).every((part) => part === 0) && (parts[6] !== 0 || parts[7]! > 1)) {
      return ipaddr.IPv4.parse(`${parts[6]! >> 8}.${parts[6]! & 255}.${parts[7]! >> 8}.${parts[7]! & 255}`).range();
    }
  }
  return parsed.range();
}
