// The attachments of a server: where the bytes are, how links are signed, the limits.
import type { AttachmentOptions } from '../config.js';
import { encodeId } from '../ids.js';
import { LINK_SECONDS, type Links } from './links.js';
import type { AttachmentStore } from './store.js';

export type AttachmentFiles = {
  store: AttachmentStore;
  links: Links;
  limits: AttachmentOptions;
  /** The origin links point at: PUBLIC_URL, or the request's. */
  base: string;
};

/** The signed download link of an attachment, valid for `seconds`. */
export function downloadUrl(files: AttachmentFiles, attachment: { id: string; filename: string }, seconds: number = LINK_SECONDS.answer, now = Date.now()) {
  const expires = Math.floor(now / 1000) + seconds;
  const id = encodeId('Attachment', attachment.id);
  return `${files.base}/attachments/${id}/${encodeURIComponent(attachment.filename)}?${files.links.query('download', attachment.id, expires)}`;
}

/** The signed upload URL (PUT) of an awaited upload, and when it stops working. */
export function uploadUrl(files: AttachmentFiles, attachment: { id: string }, now = Date.now()) {
  const expires = Math.floor(now / 1000) + LINK_SECONDS.upload;
  const id = encodeId('Attachment', attachment.id);
  return { url: `${files.base}/uploads/${id}?${files.links.query('upload', attachment.id, expires)}`, expiresAt: new Date(expires * 1000) };
}
