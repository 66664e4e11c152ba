// Relay global IDs are the product's prefixed IDs (tkt_…), so one ID serves
// `node(id:)`, `ticket(id:)` and every other argument.
import { badInput } from '../../errors.js';
import { decodeId, encodeId, parseIdOf, type IdType } from '../../ids.js';

export function encodeGlobalId(typename: string, id: string | number | bigint): string {
  return encodeId(typename as IdType, String(id));
}

/**
 * `node(id:)` needs the prefix to know the type; arguments of a known type
 * (`ticket(id:)`, inputs) also take raw UUIDs, through uuidOf().
 */
export function decodeGlobalId(globalId: string): { typename: string; id: string } {
  const decoded = decodeId(globalId);
  if (!decoded) throw badInput([{ path: 'id', message: `"${globalId}" is not a valid ID` }]);
  return { typename: decoded.type, id: decoded.uuid };
}

/** The UUID behind an ID argument of a known type; BAD_USER_INPUT when malformed. */
export function uuidOf(type: IdType, value: string, path = 'id'): string {
  const uuid = parseIdOf(type, value);
  if (!uuid) throw badInput([{ path, message: `"${value}" is not a valid ${type} ID` }]);
  return uuid;
}
