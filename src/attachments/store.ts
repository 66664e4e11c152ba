// Where the bytes of attachments live. A directory by default; the interface is
// what an S3-compatible store would implement too (put a stream, get a stream, delete).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export interface AttachmentStore {
  /** Stores the stream's bytes under `key`; when the stream fails, nothing is left under it. */
  write(key: string, source: Readable): Promise<void>;
  /** The bytes under `key`, streamed. */
  read(key: string): Readable;
  /** Deletes the keys; missing ones are ignored. */
  remove(keys: readonly string[]): Promise<void>;
  /** Deletes every file of a team (keys `<team>/…`): the team is gone. */
  removeTeam(teamId: string): Promise<void>;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const KEY_RE = new RegExp(`^${UUID}/${UUID}$`);
const TEAM_RE = new RegExp(`^${UUID}$`);

/** Files under `dir`, one per key (`<team>/<attachment>`), written to a temporary name and renamed when complete. */
export function directoryStore(dir: string): AttachmentStore {
  const fileOf = (key: string) => {
    // Keys are made by the server from UUIDs; anything else would be a bug, never a path.
    if (!KEY_RE.test(key)) throw new Error(`Not an attachment key: ${key}`);
    return path.join(dir, key);
  };
  return {
    async write(key, source) {
      const file = fileOf(key);
      // Synchronously, so that the pipeline below listens to the source before anything flows.
      fs.mkdirSync(path.dirname(file), { recursive: true });
      const partial = `${file}.${randomUUID()}.part`;
      const out = fs.createWriteStream(partial, { flags: 'wx' });
      try {
        await pipeline(source, out);
        await fs.promises.rename(partial, file);
      } catch (err) {
        // The stream opens its file asynchronously: a source that fails first (a body over its
        // declared size) would have the file removed before it exists, and then created.
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
        await fs.promises.rm(partial, { force: true });
        throw err;
      }
    },
    read: (key) => fs.createReadStream(fileOf(key)),
    async remove(keys) {
      await Promise.all(keys.map((key) => fs.promises.rm(fileOf(key), { force: true })));
    },
    async removeTeam(teamId) {
      if (!TEAM_RE.test(teamId)) throw new Error(`Not a team id: ${teamId}`);
      await fs.promises.rm(path.join(dir, teamId), { recursive: true, force: true });
    },
  };
}
