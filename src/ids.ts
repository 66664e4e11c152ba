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
  BulkJob: 'bulk',
  Attachment: 'att',
} as const;

export type IdType = keyof typeof ID_PREFIXES;

const TYPE_BY_PREFIX = new Map<string, IdType>(
  Object.entries(ID_PREFIXES).map(([type, prefix]) => [prefix, type as IdType]),
);

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

// Encoding runs for every ID of every response and live event, so it divides the
// UUID's four 32-bit words by 62 with plain numbers: BigInt arithmetic costs about
// three times as much. Each step stays below 62 · 2^32, exact in a double.
const WORD = 2 ** 32;

export function encodeId(type: IdType, uuid: string): string {
  let a = parseInt(uuid.slice(0, 8), 16);
  let b = parseInt(uuid.slice(9, 13) + uuid.slice(14, 18), 16);
  let c = parseInt(uuid.slice(19, 23) + uuid.slice(24, 28), 16);
  let d = parseInt(uuid.slice(28, 36), 16);
  let out = '';
  for (let i = 0; i < LENGTH; i++) {
    let cur = a;
    a = Math.floor(cur / 62);
    cur = (cur - a * 62) * WORD + b;
    b = Math.floor(cur / 62);
    cur = (cur - b * 62) * WORD + c;
    c = Math.floor(cur / 62);
    cur = (cur - c * 62) * WORD + d;
    d = Math.floor(cur / 62);
    out = ALPHABET[cur - d * 62] + out;
  }
  return `${ID_PREFIXES[type]}_${out}`;
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
