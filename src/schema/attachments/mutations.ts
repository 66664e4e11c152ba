import { badInput } from '../../errors.js';
import { createUpload, uploaderOf, type AttachmentRef } from '../../domain/attachments.js';
import type { Viewer } from '../../auth/viewer.js';
import { encodeId } from '../../ids.js';
import { builder } from '../builder.js';
import { uuidOf } from '../common/global-ids.js';
import { payloadCursor } from '../common/payloads.js';

type AttachmentArg = { file?: { id: string; uploader: string } | null; uploadId?: string | null };

/** The uploads an `attachments` argument names, each a file of the request or an upload id of the viewer's. */
export function attachmentRefs(viewer: Viewer, list: readonly AttachmentArg[] | null | undefined): AttachmentRef[] | undefined {
  if (!list) return undefined;
  return list.map((item, i) => {
    const path = `input.attachments.${i}`;
    if (!item.file === !item.uploadId) throw badInput([{ path, message: 'give exactly one of file and uploadId' }]);
    if (item.file) return { id: item.file.id, uploader: item.file.uploader };
    return { id: uuidOf('Attachment', item.uploadId!, `${path}.uploadId`), uploader: uploaderOf(viewer) };
  });
}

builder.relayMutationField(
  'createUpload',
  {
    description: 'The file you are about to upload.',
    inputFields: (t) => ({
      filename: t.string({ required: true, description: 'Its name (paths and control characters are removed).' }),
      contentType: t.string({ description: 'What you believe it is; the server sniffs the bytes and keeps what it finds.' }),
      byteSize: t.int({ required: true, description: 'Its exact size in bytes, at most MAX_ATTACHMENT_BYTES.' }),
      checksum: t.string({ required: true, description: 'SHA-256 of its bytes, as 64 hex digits: the PUT must match it.' }),
    }),
  },
  {
    description:
      'The two-step upload, for large files or clients that cannot send multipart requests: PUT the bytes to uploadUrl before it expires, then name uploadId in the attachments of addMessage or createTicket within 24 hours.',
    authScopes: { scope: 'WRITE' },
    resolve: async (_root, { input }, ctx) => {
      const upload = await createUpload(ctx, ctx.viewer, {
        filename: input.filename,
        contentType: input.contentType,
        byteSize: input.byteSize,
        checksum: input.checksum,
      });
      return { uploadId: encodeId('Attachment', upload.attachment.id), uploadUrl: upload.url, expiresAt: upload.expiresAt };
    },
  },
  {
    description: 'Where to send the bytes.',
    outputFields: (t) => ({
      ...payloadCursor(t),
      uploadId: t.id({ description: 'The upload (att_…), the ID the attachment will keep.', resolve: (r) => r.uploadId }),
      uploadUrl: t.string({
        description: 'PUT the bytes here (any Content-Type; no Authorization header: the URL is signed).',
        resolve: (r) => r.uploadUrl,
      }),
      expiresAt: t.field({ type: 'DateTime', description: 'When uploadUrl stops working (one hour).', resolve: (r) => r.expiresAt }),
    }),
  },
);
