// Receiving a file: its bytes stream into the store while they are counted, hashed
// and their first bytes kept for sniffing; nothing is held in memory but those.
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { fileTypeFromBuffer } from 'file-type';
import type { AttachmentStore } from './store.js';

/** Enough of the start of a file for every signature file-type knows. */
const SNIFF_BYTES = 4100;

export class TooLarge extends Error {
  constructor(readonly limit: number) {
    super(`larger than ${limit} bytes`);
  }
}

export type Received = { byteSize: number; checksum: string; contentType: string };

/**
 * The type the bytes say they are: a signature that file-type knows, else text when
 * the start is valid UTF-8 without control bytes, else application/octet-stream.
 * What the client declared is never used: a renamed executable stays one.
 */
export async function sniff(head: Buffer): Promise<string> {
  const found = await fileTypeFromBuffer(head);
  if (found) return found.mime;
  // A multi-byte character cut off at the end of the head is not a reason to call it binary.
  const text = head.subarray(0, Math.max(0, head.length - 3));
  try {
    const decoded = new TextDecoder('utf-8', { fatal: true }).decode(text);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control bytes are what tells binary from text
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(decoded)) return 'text/plain';
  } catch {
    // not UTF-8
  }
  return 'application/octet-stream';
}

/** Streams `source` into the store under `key`; TooLarge past `maxBytes`, and then nothing is stored. */
export async function receive(store: AttachmentStore, key: string, source: Readable, maxBytes: number): Promise<Received> {
  const hash = createHash('sha256');
  const head: Buffer[] = [];
  let headBytes = 0;
  let byteSize = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      byteSize += chunk.length;
      if (byteSize > maxBytes) return callback(new TooLarge(maxBytes));
      hash.update(chunk);
      if (headBytes < SNIFF_BYTES) {
        head.push(chunk.subarray(0, SNIFF_BYTES - headBytes));
        headBytes += Math.min(chunk.length, SNIFF_BYTES - headBytes);
      }
      callback(null, chunk);
    },
  });
  // A source that fails or closes before its end (a client gone midway) fails the write.
  if (source.destroyed) throw new Error('The upload broke off before its end');
  source.on('error', (err) => meter.destroy(err));
  source.on('close', () => {
    if (!source.readableEnded) meter.destroy(new Error('The upload broke off before its end'));
  });
  await store.write(key, source.pipe(meter));
  return { byteSize, checksum: hash.digest('hex'), contentType: await sniff(Buffer.concat(head)) };
}
