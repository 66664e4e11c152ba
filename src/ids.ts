// Public IDs: a type prefix and the row's UUID in 22 base62 characters
// (tkt_4fRk…). Every ID argument also accepts the raw UUID.
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const LENGTH = 22; // 62^22 > 2^128
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const BASE62_RE = /^[0-9A-Za-z]{22}$/;

/** GraphQL type name → ID prefix. */
export const ID_PREFIXES = {
  Team: 'team',
  Agent: 'agt',
  Customer: 'cus',
  Ticket: 'tkt',
  Message: 'msg',
  ApiKey: 'key',
  WebhookEndpoint: 'whe',
  WebhookDelivery: 'whd',
  TicketEvent: 'evt',
} as const;

export type IdType = keyof typeof ID_PREFIXES;

const TYPE_BY_PREFIX = new Map<string, IdType>(
  Object.entries(ID_PREFIXES).map(([type, prefix]) => [prefix, type as IdType]),
);

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

export function encodeId(type: IdType, uuid: string): string {
  let n = BigInt(`0x${uuid.replace(/-/g, '')}`);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return `${ID_PREFIXES[type]}_${out.padStart(LENGTH, '0')}`;
}

/** Decodes a prefixed ID; undefined when it is not one. */
export function decodeId(id: string): { type: IdType; uuid: string } | undefined {
  const sep = id.indexOf('_');
  const type = TYPE_BY_PREFIX.get(id.slice(0, sep));
  const body = id.slice(sep + 1);
  if (!type || !BASE62_RE.test(body)) return undefined;
  let n = 0n;
  for (const ch of body) n = n * 62n + BigInt(ALPHABET.indexOf(ch));
  if (n >= 1n << 128n) return undefined;
  const hex = n.toString(16).padStart(32, '0');
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return { type, uuid };
}

/**
 * The UUID behind an ID argument that must name a `type`: its prefixed ID or the
 * raw UUID. Undefined when the value is malformed or names another type.
 */
export function parseIdOf(type: IdType, id: string): string | undefined {
  if (isUuid(id)) return id.toLowerCase();
  const decoded = decodeId(id);
  return decoded?.type === type ? decoded.uuid : undefined;
}
