// The rules of attachments. A file arrives first as an upload (a multipart request,
// or the two-step form's PUT), owned by whoever sent it; a message then takes it in
// the change that adds the message. Uploads no message took are deleted after 24 hours.
import type { Readable } from 'node:stream';
import { v7 as uuidv7 } from 'uuid';
import { z } from 'zod';
import { downloadUrl, uploadUrl, type AttachmentFiles } from '../attachments/files.js';
import { receive, TooLarge } from '../attachments/intake.js';
import { LINK_SECONDS } from '../attachments/links.js';
import { sanitizeFilename } from '../attachments/names.js';
import type { Viewer } from '../auth/viewer.js';
import type { Tx } from '../db.js';
import { badInput, notFound } from '../errors.js';
import type { Attachment } from '../generated/prisma/client.js';
import { encodeId } from '../ids.js';
import type { PublicAttachment, SnapshotAttachment } from '../jobs/side-effects.js';
import { UPLOAD_HOURS } from '../jobs/upkeep.js';
import { change, type Deps } from './change.js';
import { parseInput } from './validation.js';

export type FilesDeps = Deps & { attachments: AttachmentFiles };


/** Whose uploads a viewer may attach; anonymous callers have none outside their own request. */
export function uploaderOf(viewer: Viewer): string | undefined {
  if (viewer.customerId) return `customer:${viewer.customerId}`;
  if (viewer.agentId) return `agent:${viewer.agentId}`;
  if (viewer.apiKeyId) return `key:${viewer.apiKeyId}`;
  return undefined;
}

/**
 * A file stored from a multipart request: the value of an `Upload` argument. Only the
 * request parser makes these (JSON variables cannot), so holding one proves the file
 * came with this request.
 */
export class StoredUpload {
  constructor(
    readonly id: string,
    readonly uploader: string,
    private readonly checksum: string,
  ) {}

  /** What a request hash (Idempotency-Key) sees: the same file sent again is the same request. */
  toJSON() {
    return { upload: this.checksum };
  }
}

/** An upload a mutation names: its UUID and who must have uploaded it. */
export type AttachmentRef = { id: string; uploader: string | undefined };

const CreateUploadInput = z.object({
  filename: z.string().min(1, 'must not be empty').max(1000, 'must be at most 1000 characters'),
  contentType: z
    .string()
    .regex(/^[\w.+-]+\/[\w.+-]+$/, 'must be a media type such as image/png')
    .nullish(),
  byteSize: z.number().int().min(1, 'must be at least 1'),
  checksum: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, 'must be the SHA-256 of the file, as 64 hex digits')
    .transform((s) => s.toLowerCase()),
});

const tooLarge = (path: string, limit: number) => badInput([{ path, message: `must be at most ${limit} bytes (MAX_ATTACHMENT_BYTES)` }]);

/** The two-step form, step one: an awaited upload and the signed URL its bytes are PUT to. */
export async function createUpload(deps: FilesDeps, viewer: Viewer, args: z.input<typeof CreateUploadInput>) {
  const input = parseInput(CreateUploadInput, args);
  const { maxBytes } = deps.attachments.limits;
  if (input.byteSize > maxBytes) throw tooLarge('input.byteSize', maxBytes);
  const uploader = uploaderOf(viewer);
  if (!uploader || !viewer.teamId) throw notFound('Team');
  const teamId = viewer.teamId;
  const id = uuidv7();
  const row = await change(deps, ({ tx }) =>
    tx.attachment.create({
      data: {
        id,
        teamId,
        uploader,
        filename: sanitizeFilename(input.filename),
        contentType: input.contentType ?? 'application/octet-stream',
        byteSize: input.byteSize,
        checksum: input.checksum,
        storageKey: `${teamId}/${id}`,
      },
    }),
  );
  return { attachment: row, ...uploadUrl(deps.attachments, row) };
}

const fresh = () => new Date(Date.now() - UPLOAD_HOURS * 3600_000);


/**
 * The two-step form, step two: the bytes of an awaited upload. They must be exactly
 * the declared size and checksum (BAD_USER_INPUT otherwise, and nothing is kept);
 * the content type is sniffed from them.
 */
export async function acceptUploadBody(deps: FilesDeps, id: string, source: Readable): Promise<Attachment> {
  const row = await deps.db.attachment.findFirst({ where: { id, messageId: null, storedAt: null, createdAt: { gt: fresh() } } });
  if (!row) throw notFound('Upload');
  const { store } = deps.attachments;
  let received: Awaited<ReturnType<typeof receive>>;
  try {
    received = await receive(store, row.storageKey, source, row.byteSize);
  } catch (err) {
    if (err instanceof TooLarge) throw badInput([{ path: 'body', message: `is larger than the declared byteSize, ${row.byteSize} bytes` }]);
    throw err;
  }
  const problem =
    received.byteSize !== row.byteSize
      ? `has ${received.byteSize} bytes, not the declared byteSize ${row.byteSize}`
      : received.checksum !== row.checksum
        ? `has the SHA-256 ${received.checksum}, not the declared checksum ${row.checksum}`
        : undefined;
  if (problem) {
    await store.remove([row.storageKey]);
    throw badInput([{ path: 'body', message: problem }]);
  }
  return change(deps, ({ tx }) =>
    tx.attachment.update({ where: { id }, data: { storedAt: new Date(), contentType: received.contentType } }),
  );
}

/** A file of a multipart request, streamed into the store as an upload of `uploader` in `teamId`. */
export async function storeFile(
  deps: FilesDeps,
  file: { teamId: string; uploader: string; filename: string | undefined; source: Readable; path: string },
): Promise<StoredUpload> {
  const id = uuidv7();
  const storageKey = `${file.teamId}/${id}`;
  const { store, limits } = deps.attachments;
  let received: Awaited<ReturnType<typeof receive>>;
  try {
    received = await receive(store, storageKey, file.source, limits.maxBytes);
  } catch (err) {
    if (err instanceof TooLarge) throw tooLarge(file.path, limits.maxBytes);
    throw err;
  }
  try {
    await change(deps, ({ tx }) =>
      tx.attachment.create({
        data: { id, teamId: file.teamId, uploader: file.uploader, filename: sanitizeFilename(file.filename), storageKey, storedAt: new Date(), ...received },
      }),
    );
  } catch (err) {
    await store.remove([storageKey]);
    throw err;
  }
  return new StoredUpload(id, file.uploader, received.checksum);
}

/** Deletes uploads that no message took (a multipart request's files after a failed mutation). */
export async function discardUploads(deps: FilesDeps, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const gone = await change(
    deps,
    ({ tx }) => tx.$queryRaw<Array<{ key: string }>>`
      DELETE FROM attachments WHERE id = ANY(${[...ids]}::uuid[]) AND message_id IS NULL RETURNING storage_key AS key`,
  );
  await deps.attachments.store.remove(gone.map((a) => a.key));
}

/** Checks the references before any write: each at most once, at most MAX_ATTACHMENTS_PER_MESSAGE. */
export function checkRefs(deps: Partial<FilesDeps>, refs: readonly AttachmentRef[] | undefined): readonly AttachmentRef[] {
  if (!refs || refs.length === 0) return [];
  const max = deps.attachments?.limits.maxPerMessage ?? 0;
  if (refs.length > max) throw badInput([{ path: 'input.attachments', message: `at most ${max} files on one message` }]);
  if (new Set(refs.map((r) => r.id)).size !== refs.length) throw badInput([{ path: 'input.attachments', message: 'names an upload twice' }]);
  return refs;
}

/** What integrations and emails get of an attachment: metadata and a link valid for days. */
function publicAttachment(files: AttachmentFiles, row: Attachment): PublicAttachment {
  return {
    id: encodeId('Attachment', row.id),
    filename: row.filename,
    contentType: row.contentType,
    byteSize: row.byteSize,
    checksum: row.checksum,
    url: downloadUrl(files, row, LINK_SECONDS.message),
    createdAt: row.createdAt,
  };
}

/**
 * Inside the change that adds a message: the message takes the uploads. Each must be
 * a stored upload of the team, still waiting, from its uploader: any other (unknown,
 * another team's or person's, already taken, expired) is NOT_FOUND.
 */
export async function attachUploads(
  tx: Tx,
  deps: Partial<FilesDeps>,
  target: { teamId: string; messageId: string },
  refs: readonly AttachmentRef[],
): Promise<SnapshotAttachment[]> {
  if (refs.length === 0) return [];
  const files = deps.attachments;
  const pairs = refs.filter((r) => r.uploader).map((r) => `${r.id} ${r.uploader}`);
  const taken = await tx.$queryRaw<Attachment[]>`
    UPDATE attachments SET message_id = ${target.messageId}::uuid
    WHERE team_id = ${target.teamId}::uuid AND message_id IS NULL AND stored_at IS NOT NULL AND created_at > ${fresh()}
      AND (id::text || ' ' || uploader) = ANY(${pairs}::text[])
    RETURNING id, team_id AS "teamId", message_id AS "messageId", uploader, filename, content_type AS "contentType",
      byte_size AS "byteSize", checksum, storage_key AS "storageKey", stored_at AS "storedAt", created_at AS "createdAt"`;
  if (!files || taken.length !== refs.length) throw notFound('Upload');
  const order = new Map(refs.map((r, i) => [r.id, i]));
  return taken
    .sort((a, b) => order.get(a.id)! - order.get(b.id)!)
    .map((row) => ({ data: publicAttachment(files, row), storageKey: row.storageKey }));
}

/** The stored files of a ticket's messages, read inside the change that deletes it. */
export async function storageKeysOfTicket(tx: Tx, ticketId: string): Promise<string[]> {
  const rows = await tx.$queryRaw<Array<{ key: string }>>`
    SELECT a.storage_key AS key FROM attachments a JOIN messages m ON m.id = a.message_id WHERE m.ticket_id = ${ticketId}::uuid`;
  return rows.map((r) => r.key);
}
