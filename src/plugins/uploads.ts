// Files of multipart requests (the GraphQL multipart request spec), streamed into the
// attachment store as the request arrives instead of buffered as yoga's own parser
// does. `operations` and `map` come first; each file is then stored as an upload of
// the caller and its place in the variables gets a StoredUpload, which the `Upload`
// scalar accepts. A request's uploads that no message took are deleted when its
// response is ready (a failed mutation leaves nothing behind). The CSRF plugin runs
// before this parser: a multipart body is a "simple" request and needs its header.
import { Readable } from 'node:stream';
import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';
import type { AttachmentFiles } from '../attachments/files.js';
import type { Viewer } from '../auth/viewer.js';
import { discardUploads, storeFile, uploaderOf, type StoredUpload } from '../domain/attachments.js';
import type { Deps } from '../domain/change.js';
import { badInput, ClientError, forbidden, notFound, unauthenticated } from '../errors.js';

export type UploadsOptions = Deps & {
  /** The attachments of the server, without a request's origin (stored files need none). */
  files: Omit<AttachmentFiles, 'base'>;
  viewerOf(request: Request): Promise<Viewer>;
  /** Largest `operations` or `map` field. */
  maxFieldBytes: number;
};

export const isMultipart = (contentType: string | null | undefined) => /^multipart\/form-data\s*(;|$)/i.test(contentType ?? '');

const refuse = (message: string) => createGraphQLError(message, { extensions: { code: 'BAD_REQUEST', http: { status: 400 } } });

/** Sets `value` at a path of the spec's map ("variables.input.attachments.0.file"), never on a prototype. */
function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.');
  let current: Record<string, unknown> = target;
  for (const [i, key] of keys.entries()) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') return;
    if (i === keys.length - 1) current[key] = value;
    else {
      if (typeof current[key] !== 'object' || current[key] === null) current[key] = {};
      current = current[key] as Record<string, unknown>;
    }
  }
}

/** Who the files of a request belong to: a member who may write, or an anonymous caller submitting to a public team. */
async function ownerOf(deps: UploadsOptions, viewer: Viewer, operations: Record<string, unknown>) {
  const uploader = uploaderOf(viewer);
  if (uploader && viewer.teamId) {
    if (!viewer.scopes.has('WRITE')) throw forbidden('This credential lacks the WRITE scope');
    return { teamId: viewer.teamId, uploader };
  }
  const slug = (operations.variables as { input?: { teamSlug?: unknown } } | undefined)?.input?.teamSlug;
  if (typeof slug !== 'string') throw unauthenticated('A credential, or variables.input.teamSlug for a public submission, is required to send files');
  const team = await deps.db.team.findUnique({ where: { slug }, select: { id: true, acceptsPublicTickets: true } });
  // As createTicket answers: a team that takes no public tickets is one that does not exist.
  if (!team?.acceptsPublicTickets) throw notFound('Team');
  return { teamId: team.id, uploader: `anon:${crypto.randomUUID()}` };
}

function parseMultipart(deps: UploadsOptions, request: Request, original: Request, stored: string[], raw: Readable | undefined): Promise<GraphQLParams> {
  const fileDeps = { db: deps.db, bus: deps.bus, attachments: { ...deps.files, base: '' } };
  const { maxPerMessage } = deps.files.limits;
  return new Promise((resolve, reject) => {
    if (!request.body) return reject(refuse('A multipart request needs a body'));
    // Node's own request stream when there is one: faster than the Fetch body built over it.
    const source = raw ?? Readable.from(request.body as unknown as AsyncIterable<Uint8Array>);
    const parser = Busboy({
      headers: { 'content-type': request.headers.get('content-type') ?? '' },
      // One part more than operations, map and the files, so that too many files says so.
      limits: { fieldSize: deps.maxFieldBytes, fields: 2, files: maxPerMessage, parts: maxPerMessage + 3 },
    });
    let operations: Record<string, unknown> | undefined;
    let map: Record<string, unknown> | undefined;
    let owner: ReturnType<typeof ownerOf> | undefined;
    let current: BusboyFileStream | undefined;
    let failed = false;
    const work: Array<Promise<unknown>> = [];
    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      // The rest of the body is not parsed; Node discards it once the answer is sent.
      source.unpipe(parser);
      // Closed, not errored: whoever reads it sees it end early (intake.ts), and no one else must hear of it.
      current?.destroy();
      const error = err instanceof ClientError || (err as { extensions?: unknown }).extensions ? err : refuse(`Invalid multipart request: ${(err as Error).message}`);
      // Answered once every file being stored is stored or dropped, so that the
      // response's clean-up (onResponse) knows them all.
      void Promise.allSettled(work).then(() => reject(error));
    };
    const json = (name: string, value: string) => {
      try {
        const parsed = JSON.parse(value) as unknown;
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        return parsed as Record<string, unknown>;
      } catch {
        throw refuse(`Multipart field "${name}" must be a JSON object`);
      }
    };
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      try {
        if (valueTruncated) throw refuse(`Multipart field "${name}" is larger than ${deps.maxFieldBytes} bytes`);
        if (name === 'operations') operations = json(name, value);
        else if (name === 'map') map = json(name, value);
        else throw refuse(`Unknown multipart field "${name}": only operations, map and files`);
      } catch (err) {
        fail(err);
      }
    });
    parser.on('file', (name, stream, filename) => {
      if (failed) return stream.resume();
      const paths = map?.[name];
      if (!operations || !map) return fail(refuse('The multipart fields operations and map must come before the files'));
      if (!Array.isArray(paths) || paths.length !== 1 || typeof paths[0] !== 'string') {
        return fail(refuse(`The map must name one place in the variables for file "${name}"`));
      }
      const ops = operations;
      const at = paths[0].replace(/^variables\./, '');
      current = stream;
      work.push(
        (async () => {
          owner ??= viewerAndOwner();
          const { teamId, uploader } = await owner;
          if (failed) return stream.resume();
          const upload: StoredUpload = await storeFile(fileDeps, { teamId, uploader, filename, source: stream, path: at });
          stored.push(upload.id);
          setPath(ops, paths[0] as string, upload);
        })().catch(fail),
      );
      function viewerAndOwner() {
        return deps.viewerOf(original).then((viewer) => ownerOf(deps, viewer, ops));
      }
    });
    parser.on('filesLimit', () => fail(badInput([{ path: 'input.attachments', message: `at most ${maxPerMessage} files on one message` }])));
    parser.on('partsLimit', () => fail(refuse('Too many parts in the multipart request')));
    parser.on('fieldsLimit', () => fail(refuse('Only the operations and map fields, then files')));
    parser.on('error', fail);
    source.on('error', fail);
    parser.on('finish', () => {
      void Promise.all(work).then(() => {
        if (failed) return;
        if (!operations) return fail(refuse('Missing multipart field "operations"'));
        resolve(operations as GraphQLParams);
      });
    });
    source.pipe(parser);
  });
}

export function uploadsPlugin(deps: UploadsOptions): Plugin {
  const uploadsOf = new WeakMap<Request, string[]>();
  return {
    onRequestParse({ request, setRequestParser, serverContext }) {
      if (request.method !== 'POST' || !isMultipart(request.headers.get('content-type'))) return;
      const stored: string[] = [];
      uploadsOf.set(request, stored);
      const raw = (serverContext as { req?: Readable } | undefined)?.req;
      setRequestParser((parsed) => parseMultipart(deps, parsed, request, stored, raw?.readable ? raw : undefined));
    },
    async onResponse({ request }) {
      const stored = uploadsOf.get(request);
      if (stored?.length) await discardUploads({ db: deps.db, bus: deps.bus, attachments: { ...deps.files, base: '' } }, stored);
    },
  };
}
