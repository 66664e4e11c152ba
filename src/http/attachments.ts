// The two URLs of attachments, both signed (the signature is the credential):
//   GET /attachments/<att_…>/<filename>?expires=…&signature=…  downloads a file of a message
//   PUT /uploads/<att_…>?expires=…&signature=…                 takes the bytes of a createUpload
// A download streams from the store with nosniff and, but for safe image types, as
// an attachment; it answers 404 as soon as its message or ticket is deleted.
import type http from 'node:http';
import type { AttachmentFiles } from '../attachments/files.js';
import { LINK_SECONDS } from '../attachments/links.js';
import { contentDisposition, INLINE_TYPES } from '../attachments/names.js';
import { acceptUploadBody } from '../domain/attachments.js';
import type { Deps } from '../domain/change.js';
import { ClientError } from '../errors.js';
import { encodeId, parseIdOf } from '../ids.js';

const DOWNLOAD_RE = /^\/attachments\/(att_[0-9A-Za-z]{22})(?:\/[^/]*)?$/;
const UPLOAD_RE = /^\/uploads\/(att_[0-9A-Za-z]{22})$/;

const STATUS: Record<string, number> = { BAD_USER_INPUT: 400, FORBIDDEN: 403, NOT_FOUND: 404 };

function sendError(res: http.ServerResponse, requestId: string, status: number, code: string, message: string, extensions: Record<string, unknown> = {}) {
  if (res.headersSent) return res.destroy();
  // A body left unread (an upload refused midway) is not read on: the connection closes.
  if (!res.req.complete) res.setHeader('connection', 'close');
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify({ errors: [{ message, extensions: { ...extensions, code } }], extensions: { requestId } }));
}

export type AttachmentRoutes = Deps & { files: Omit<AttachmentFiles, 'base'>; log: { error(obj: object, msg: string): void } };

/** Handles the request when it is for one of these URLs; false otherwise. */
export function serveAttachments(deps: AttachmentRoutes, req: http.IncomingMessage, res: http.ServerResponse, requestId: string): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const download = DOWNLOAD_RE.exec(url.pathname);
  const upload = UPLOAD_RE.exec(url.pathname);
  if (!download && !upload) return false;
  const purpose = download ? 'download' : 'upload';
  const method = download ? ['GET', 'HEAD'] : ['PUT'];
  if (!method.includes(req.method ?? '')) {
    res.setHeader('allow', method.join(', '));
    sendError(res, requestId, 405, 'METHOD_NOT_ALLOWED', `Use ${method.join(' or ')}`);
    return true;
  }
  const id = parseIdOf('Attachment', (download ?? upload)![1]!)!;
  const check = deps.files.links.verify(purpose, id, url.searchParams);
  if (check !== 'ok') {
    sendError(res, requestId, 403, 'FORBIDDEN', check === 'expired' ? 'This link has expired: ask the API for a new one' : 'This link is not valid');
    return true;
  }
  const handle = download ? sendFile(deps, id, req, res) : takeUpload(deps, id, req, res);
  handle.catch((err: unknown) => {
    if (err instanceof ClientError) {
      const code = String(err.extensions.code);
      const { code: _code, ...extensions } = err.extensions;
      return sendError(res, requestId, STATUS[code] ?? 400, code, err.message, extensions);
    }
    deps.log.error({ err, requestId }, 'attachment request failed');
    sendError(res, requestId, 500, 'INTERNAL_SERVER_ERROR', 'Unexpected error');
  });
  return true;
}

async function sendFile(deps: AttachmentRoutes, id: string, req: http.IncomingMessage, res: http.ServerResponse) {
  const row = await deps.db.attachment.findFirst({
    where: { id, messageId: { not: null } },
    select: { filename: true, contentType: true, byteSize: true, storageKey: true },
  });
  if (!row) throw new ClientError('NOT_FOUND', 'Attachment not found');
  const inline = INLINE_TYPES.has(row.contentType);
  res.writeHead(200, {
    'content-type': row.contentType,
    'content-length': row.byteSize,
    'content-disposition': contentDisposition(inline ? 'inline' : 'attachment', row.filename),
    'x-content-type-options': 'nosniff',
    // Whatever the bytes are, a page opened from them runs nothing.
    'content-security-policy': "default-src 'none'; img-src 'self'; sandbox",
    'cache-control': `private, max-age=${LINK_SECONDS.answer}`,
  });
  if (req.method === 'HEAD') return void res.end();
  const stream = deps.files.store.read(row.storageKey);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

async function takeUpload(deps: AttachmentRoutes, id: string, req: http.IncomingMessage, res: http.ServerResponse) {
  const row = await acceptUploadBody({ db: deps.db, bus: deps.bus, attachments: { ...deps.files, base: '' } }, id, req);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(
    JSON.stringify({
      id: encodeId('Attachment', row.id),
      filename: row.filename,
      contentType: row.contentType,
      byteSize: row.byteSize,
      checksum: row.checksum,
    }),
  );
}
