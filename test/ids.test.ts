import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { decodeId, encodeId, parseIdOf } from '../src/ids.js';

describe('prefixed IDs', () => {
  test('encode a UUID in 22 base62 characters after the type prefix, and decode back', () => {
    for (let i = 0; i < 200; i++) {
      const uuid = randomUUID();
      const id = encodeId('Ticket', uuid);
      expect(id).toMatch(/^tkt_[0-9A-Za-z]{22}$/);
      expect(decodeId(id)).toEqual({ type: 'Ticket', uuid });
    }
    expect(encodeId('Team', '00000000-0000-0000-0000-000000000000')).toBe('team_0000000000000000000000');
    expect(decodeId(encodeId('Message', 'ffffffff-ffff-ffff-ffff-ffffffffffff'))?.uuid).toBe('ffffffff-ffff-ffff-ffff-ffffffffffff');
  });

  test('every prefix of the product', () => {
    const uuid = randomUUID();
    const prefixes = (['Team', 'Agent', 'Customer', 'Ticket', 'Message', 'ApiKey', 'WebhookEndpoint', 'WebhookDelivery', 'TicketEvent'] as const).map(
      (type) => encodeId(type, uuid).split('_')[0],
    );
    expect(prefixes).toEqual(['team', 'agt', 'cus', 'tkt', 'msg', 'key', 'whe', 'whd', 'evt']);
  });

  test('arguments take the prefixed ID or the raw UUID, and refuse other types and garbage', () => {
    const uuid = randomUUID();
    expect(parseIdOf('Ticket', encodeId('Ticket', uuid))).toBe(uuid);
    expect(parseIdOf('Ticket', uuid.toUpperCase())).toBe(uuid);
    expect(parseIdOf('Ticket', encodeId('Customer', uuid))).toBeUndefined();
    expect(parseIdOf('Ticket', 'tkt_zzzzzzzzzzzzzzzzzzzzzz')).toBeUndefined(); // above 2^128
    expect(parseIdOf('Ticket', 'tkt_abc')).toBeUndefined();
    expect(parseIdOf('Ticket', '')).toBeUndefined();
  });
});
