// Attachments through real HTTP: multipart requests (the GraphQL multipart request
// spec) and the two-step form (createUpload, then PUT), downloads by signed link,
// who may see which file, and files on emails and webhooks, run by a real worker.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject } from 'vitest';
import { createLinks } from '../src/attachments/links.js';
import { directoryStore } from '../src/attachments/store.js';
import { parse } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { createDb } from '../src/db.js';
import { decodeId } from '../src/ids.js';
import { createMailer } from '../src/jobs/mail.js';
import { purgeExpiredUploads } from '../src/jobs/upkeep.js';
import { startWorker, type JobWorker } from '../src/jobs/worker.js';
import { createLogger } from '../src/logger.js';
import { execute, JWT_SECRET, startOtherApp, testApp } from './support/app.js';
import { newTicket } from './support/operations.js';
import { temporaryDirectory } from './support/files.js';
import { leftover } from './support/leftovers.js';
import { test } from './support/fixtures.js';
import { emailTurn, jobsDone } from './support/jobs.js';
import { listeningOn, subscribe, wsClient } from './support/live.js';
import { eventually, startReceiver, startSmtp } from './support/receivers.js';

const LIMIT = 1024;
const EMAIL_BYTES = 1500;
// A real 1×1 PNG, and the start of an ELF executable (a renamed program).
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
const ELF = Buffer.concat([Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), Buffer.alloc(120)]);
const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

const dir = temporaryDirectory('ticketql-attachments-test-');
const store = directoryStore(dir);
let base: string;
let smtp: Awaited<ReturnType<typeof startSmtp>>;
let worker: JobWorker;

beforeAll(async () => {
  await emailTurn();
  ({ base } = await startOtherApp({ attachments: { store, maxBytes: LIMIT, maxPerMessage: 3, emailBytes: EMAIL_BYTES } }));
  smtp = await startSmtp();
  // Its own pool: its jobs' statements stay out of the app's recorded SQL (the N+1 test).
  const workerDb = createDb(inject('databaseUrl'), 2);
  leftover('the worker database pool', () => workerDb.$disconnect());
  worker = await startWorker({
    databaseUrl: inject('databaseUrl'),
    db: workerDb,
    mailer: createMailer({ smtpUrl: smtp.url, from: 'Support <support@ticketql.test>', dataDir: '/nonexistent', store }),
    store,
    log: createLogger('silent'),
    concurrency: 2,
    policy: { production: false },
    retrySchedule: [0, 0, 0],
    pollIntervalMs: 100,
  });
}, 300_000); // the other file's turn at email may come first

afterAll(async () => {
  await worker?.stop();
});

type File = { name: string; type?: string; bytes: Buffer };
type Answer = { status: number; data?: any; errors?: Array<{ message: string; extensions?: Record<string, any> }> };

/** A GraphQL request over HTTP; with `files`, a multipart one whose files go to `variables.input.attachments.<i>.file`. */
async function gql(
  query: string | undefined,
  variables: Record<string, unknown>,
  options: { as?: string; files?: File[]; csrf?: boolean; extensions?: object; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...(options.as && { authorization: `Bearer ${options.as}` }), ...options.headers };
  let body: string | FormData;
  if (options.files) {
    const form = new FormData();
    form.set('operations', JSON.stringify({ query, variables, extensions: options.extensions }));
    form.set('map', JSON.stringify(Object.fromEntries(options.files.map((_, i) => [String(i), [`variables.input.attachments.${i}.file`]]))));
    for (const [i, file] of options.files.entries()) {
      form.set(String(i), new Blob([new Uint8Array(file.bytes)], { type: file.type ?? 'application/octet-stream' }), file.name);
    }
    body = form;
    if (options.csrf !== false) headers['x-graphql-csrf'] = '1';
  } else {
    body = JSON.stringify({ query, variables, extensions: options.extensions });
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body });
  return { status: res.status, ...((await res.json()) as object) };
}

const codeOf = (answer: Answer) => answer.errors?.[0]?.extensions?.code;

const ATTACHMENT = 'id filename contentType byteSize checksum url createdAt';
const ADD = `mutation($input: AddMessageInput!) { addMessage(input: $input) { message { id isInternal attachments { ${ATTACHMENT} } } } }`;
const CREATE_UPLOAD = 'mutation($input: CreateUploadInput!) { createUpload(input: $input) { uploadId uploadUrl expiresAt } }';
const THREAD = `query($id: ID!) { ticket(id: $id) { messages(first: 20) { edges { node { body attachments { ${ATTACHMENT} } } } } } }`;

const slots = (n: number) => Array.from({ length: n }, () => ({ file: null }));

/** Files of a team in the store (complete or still being written). */
const storedFiles = (teamUuid: string) => {
  const teamDir = path.join(dir, teamUuid);
  return fs.existsSync(teamDir) ? fs.readdirSync(teamDir) : [];
};
const rowsOf = (teamId: string) => testApp().db.attachment.count({ where: { teamId } });

/** The two-step form: createUpload, then PUT the bytes; the PUT's answer. */
async function twoStep(as: string, bytes: Buffer, declared: { byteSize?: number; checksum?: string } = {}) {
  const created = await gql(CREATE_UPLOAD, { input: { filename: 'report.pdf', byteSize: declared.byteSize ?? bytes.length, checksum: declared.checksum ?? sha256(bytes) } }, { as });
  const { uploadId, uploadUrl } = created.data.createUpload;
  const put = await fetch(uploadUrl, { method: 'PUT', body: new Uint8Array(bytes) });
  return { uploadId: uploadId as string, uploadUrl: uploadUrl as string, put: { status: put.status, body: (await put.json()) as any } };
}

describe('multipart uploads', () => {
  test('a screenshot on a reply: stored, described, and downloaded by its signed link without a credential', async ({ team, ticket }) => {
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'Here it is', attachments: slots(1) } }, { as: team.tokens.agent, files: [{ name: '../../etc/screen\u0007shot.png', type: 'image/png', bytes: PNG }] });
    const [attachment] = answer.data.addMessage.message.attachments;
    expect(attachment).toMatchObject({ filename: 'screenshot.png', contentType: 'image/png', byteSize: PNG.length, checksum: sha256(PNG) });
    expect(attachment.id).toMatch(/^att_[0-9A-Za-z]{22}$/);

    const download = await fetch(attachment.url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(download.headers.get('content-disposition')).toBe(`inline; filename="screenshot.png"; filename*=UTF-8''screenshot.png`);
    expect(download.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);

    // The customer sees the public reply's file too, in the thread.
    const thread = await gql(THREAD, { id: ticket.id }, { as: team.tokens.customer });
    expect(thread.data.ticket.messages.edges.map((e: any) => e.node.attachments.map((a: any) => a.id))).toEqual([[], [attachment.id]]);
  });

  test('the type is sniffed from the bytes: a program renamed to .png and sent as image/png is downloaded, never shown', async ({ team, ticket }) => {
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'see', attachments: slots(1) } }, { as: team.tokens.customer, files: [{ name: 'cat.png', type: 'image/png', bytes: ELF }] });
    const [attachment] = answer.data.addMessage.message.attachments;
    expect(attachment.contentType).toBe('application/x-elf');
    const download = await fetch(attachment.url);
    expect(download.headers.get('content-type')).toBe('application/x-elf');
    expect(download.headers.get('content-disposition')).toMatch(/^attachment; filename="cat.png"/);
    await download.arrayBuffer();
  });

  test('a file of exactly MAX_ATTACHMENT_BYTES is taken; one byte more is BAD_USER_INPUT naming the limit, and nothing is stored', async ({ team, ticket }) => {
    const atLimit = await gql(ADD, { input: { ticketId: ticket.id, body: 'at', attachments: slots(1) } }, { as: team.keys.write, files: [{ name: 'a.txt', bytes: Buffer.alloc(LIMIT, 'a') }] });
    expect(atLimit.data.addMessage.message.attachments[0]).toMatchObject({ byteSize: LIMIT, contentType: 'text/plain' });
    const rows = await rowsOf(team.team.id);
    const files = storedFiles(team.team.id).length;

    const over = await gql(ADD, { input: { ticketId: ticket.id, body: 'over', attachments: slots(2) } }, {
      as: team.keys.write,
      files: [
        { name: 'small.txt', bytes: Buffer.from('fine') },
        { name: 'b.txt', bytes: Buffer.alloc(LIMIT + 1, 'b') },
      ],
    });
    expect(codeOf(over)).toBe('BAD_USER_INPUT');
    expect(over.errors![0]!.extensions!.fields).toEqual([{ path: 'input.attachments.1.file', message: `must be at most ${LIMIT} bytes (MAX_ATTACHMENT_BYTES)` }]);
    // The first file, stored before the second broke the limit, is gone with the request.
    let seen = '';
    await eventually(
      async () => {
        seen = `${await rowsOf(team.team.id)} rows and the files ${storedFiles(team.team.id).join(', ')}`;
        return (await rowsOf(team.team.id)) === rows && storedFiles(team.team.id).length === files;
      },
      { what: () => `${rows} rows and ${files} files, not ${seen}` },
    );
    const thread = await gql(THREAD, { id: ticket.id }, { as: team.keys.read });
    expect(thread.data.ticket.messages.edges.map((e: any) => e.node.body)).toEqual(['Smoke everywhere', 'at']);
  });

  test('more files than MAX_ATTACHMENTS_PER_MESSAGE is BAD_USER_INPUT', async ({ team, ticket }) => {
    const files = Array.from({ length: 4 }, (_, i) => ({ name: `${i}.txt`, bytes: Buffer.from(`file ${i}`) }));
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'many', attachments: slots(4) } }, { as: team.keys.write, files });
    expect(codeOf(answer)).toBe('BAD_USER_INPUT');
    expect(answer.errors![0]!.extensions!.fields).toEqual([{ path: 'input.attachments', message: 'at most 3 files on one message' }]);
    await eventually(async () => (await rowsOf(team.team.id)) === 0);
  });

  test('a mutation that fails keeps none of its files', async ({ team, ticket }) => {
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: '', attachments: slots(1) } }, { as: team.keys.write, files: [{ name: 'x.png', bytes: PNG }] });
    expect(codeOf(answer)).toBe('BAD_USER_INPUT');
    await eventually(async () => (await rowsOf(team.team.id)) === 0 && storedFiles(team.team.id).length === 0);
  });

  test('an upload that breaks off midway stores nothing', async ({ team, ticket }) => {
    const boundary = 'ticketql-test-boundary';
    const operations = JSON.stringify({ query: ADD, variables: { input: { ticketId: ticket.id, body: 'cut', attachments: slots(1) } } });
    const head = [
      `--${boundary}\r\nContent-Disposition: form-data; name="operations"\r\n\r\n${operations}\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="map"\r\n\r\n{"0":["variables.input.attachments.0.file"]}\r\n`,
      `--${boundary}\r\nContent-Disposition: form-data; name="0"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`,
    ].join('');
    const req = http.request(`${base}/graphql`, {
      method: 'POST',
      headers: {
        'content-type': `multipart/form-data; boundary=${boundary}`,
        'content-length': String(Buffer.byteLength(head) + 1000),
        authorization: `Bearer ${team.keys.write}`,
        'x-graphql-csrf': '1',
      },
    });
    req.on('error', () => {});
    req.write(head);
    req.write(Buffer.alloc(500, 'z'));
    // The file is being written while its bytes arrive (streamed, not buffered) …
    await eventually(() => storedFiles(team.team.id).some((f) => f.endsWith('.part')));
    req.destroy();
    // … and once the client is gone, neither a partial file nor a row is left.
    await eventually(() => storedFiles(team.team.id).length === 0);
    expect(await rowsOf(team.team.id)).toBe(0);
  });

  test('a multipart request needs the CSRF header (it is a "simple" request a form could send)', async ({ team, ticket }) => {
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'csrf', attachments: slots(1) } }, { as: team.keys.write, files: [{ name: 'x.png', bytes: PNG }], csrf: false });
    expect(answer.status).toBe(403);
    expect(codeOf(answer)).toBe('CSRF_REFUSED');
    expect(await rowsOf(team.team.id)).toBe(0);
    expect(storedFiles(team.team.id)).toEqual([]);
  });

  test('anonymous callers may send files only with a ticket for a team that takes public tickets', async ({ team, publicTeam }) => {
    const create = 'mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }';
    const input = (teamSlug: string) => ({ title: 'Broken', body: 'see the file', teamSlug, customer: { email: 'anon@example.com' }, attachments: slots(1) });
    const refused = await gql(create, { input: input(team.team.slug) }, { files: [{ name: 'x.png', bytes: PNG }] });
    expect(codeOf(refused)).toBe('NOT_FOUND');
    expect(await rowsOf(team.team.id)).toBe(0);
    expect(storedFiles(team.team.id)).toEqual([]);

    const taken = await gql(create, { input: input(publicTeam.team.slug) }, { files: [{ name: 'x.png', bytes: PNG }] });
    const ticketId = taken.data.createTicket.ticketId;
    const thread = await gql(THREAD, { id: ticketId }, { as: publicTeam.keys.read });
    expect(thread.data.ticket.messages.edges[0].node.attachments).toMatchObject([{ filename: 'x.png', contentType: 'image/png' }]);
  });

  test('a credential without WRITE cannot upload', async ({ team, ticket }) => {
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'ro', attachments: slots(1) } }, { as: team.keys.read, files: [{ name: 'x.png', bytes: PNG }] });
    expect(codeOf(answer)).toBe('FORBIDDEN');
    expect(await rowsOf(team.team.id)).toBe(0);
  });

  test('persisted operations (APQ) and Idempotency-Key work with multipart requests', async ({ team, ticket }) => {
    const persistedQuery = { version: 1, sha256Hash: sha256(Buffer.from(ADD)) };
    const input = (body: string) => ({ input: { ticketId: ticket.id, body, attachments: slots(1) } });
    // The first request registers the document; the next sends its hash only.
    await gql(ADD, input('registers'), { as: team.keys.write, files: [{ name: 'a.png', bytes: PNG }], extensions: { persistedQuery } });
    const byHash = await gql(undefined, input('by hash'), { as: team.keys.write, files: [{ name: 'b.png', bytes: PNG }], extensions: { persistedQuery } });
    expect(byHash.data.addMessage.message.attachments).toMatchObject([{ filename: 'b.png' }]);

    const headers = { 'idempotency-key': `files-${ticket.id}` };
    const first = await gql(ADD, input('once'), { as: team.keys.write, files: [{ name: 'c.png', bytes: PNG }], headers });
    const again = await gql(ADD, input('once'), { as: team.keys.write, files: [{ name: 'c.png', bytes: PNG }], headers });
    expect(again.data).toEqual(first.data);
    // The replay's own copy of the file is not kept: three files in all.
    await eventually(async () => (await rowsOf(team.team.id)) === 3);
    const other = await gql(ADD, input('once'), { as: team.keys.write, files: [{ name: 'c.png', bytes: ELF }], headers });
    expect(codeOf(other)).toBe('CONFLICT');
  });

  test('an Upload value cannot be forged in JSON variables', async ({ team, ticket }) => {
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'forged', attachments: [{ file: { id: 'x', uploader: 'y' } }] } }, { as: team.keys.write });
    expect(answer.errors![0]!.message).toMatch(/Upload values are files of a multipart request/);
  });
});

describe('the two-step form', () => {
  test('createUpload, PUT to the signed URL, then the upload id in attachments', async ({ team, ticket }) => {
    const { uploadId, put } = await twoStep(team.tokens.agent, PNG);
    expect(put).toEqual({ status: 200, body: { id: uploadId, filename: 'report.pdf', contentType: 'image/png', byteSize: PNG.length, checksum: sha256(PNG) } });
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'two steps', attachments: [{ uploadId }] } }, { as: team.tokens.agent });
    expect(answer.data.addMessage.message.attachments).toMatchObject([{ id: uploadId, filename: 'report.pdf', contentType: 'image/png' }]);
    // Taken once: a second message cannot take it again.
    const again = await gql(ADD, { input: { ticketId: ticket.id, body: 'again', attachments: [{ uploadId }] } }, { as: team.tokens.agent });
    expect(codeOf(again)).toBe('NOT_FOUND');
  });

  test('a declared size over the limit, a body that does not match the checksum or size: BAD_USER_INPUT', async ({ team }) => {
    const tooLarge = await gql(CREATE_UPLOAD, { input: { filename: 'big.bin', byteSize: LIMIT + 1, checksum: sha256(PNG) } }, { as: team.keys.write });
    expect(tooLarge.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'input.byteSize', message: `must be at most ${LIMIT} bytes (MAX_ATTACHMENT_BYTES)` }] });

    const wrongSum = await twoStep(team.keys.write, PNG, { checksum: sha256(ELF) });
    expect(wrongSum.put.status).toBe(400);
    expect(wrongSum.put.body.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', fields: [{ path: 'body', message: expect.stringContaining('not the declared checksum') }] });
    const longer = await twoStep(team.keys.write, PNG, { byteSize: PNG.length - 1 });
    expect(longer.put.status).toBe(400);
    expect(longer.put.body.errors[0].extensions.code).toBe('BAD_USER_INPUT');
    // Neither upload was kept: they cannot be attached, and no bytes are stored.
    expect(storedFiles(team.team.id)).toEqual([]);
  });

  test('an unknown upload id, another team’s, another person’s, or one not PUT yet: NOT_FOUND', async ({ team, otherTeam, ticket }) => {
    const add = (uploadId: string, as = team.tokens.agent) => gql(ADD, { input: { ticketId: ticket.id, body: 'x', attachments: [{ uploadId }] } }, { as });
    expect(codeOf(await add('att_0000000000000000000000'))).toBe('NOT_FOUND');
    expect(codeOf(await add((await twoStep(otherTeam.keys.write, PNG)).uploadId))).toBe('NOT_FOUND');
    expect(codeOf(await add((await twoStep(team.tokens.customer, PNG)).uploadId))).toBe('NOT_FOUND');
    const awaited = await gql(CREATE_UPLOAD, { input: { filename: 'x', byteSize: 3, checksum: sha256(Buffer.from('abc')) } }, { as: team.tokens.agent });
    expect(codeOf(await add(awaited.data.createUpload.uploadId))).toBe('NOT_FOUND');
    expect(codeOf(await add('tkt_0000000000000000000000'))).toBe('BAD_USER_INPUT');
  });

  test('an upload URL works once, and only as signed', async ({ team }) => {
    const { uploadUrl } = await twoStep(team.keys.write, PNG);
    expect((await fetch(uploadUrl, { method: 'PUT', body: new Uint8Array(PNG) })).status).toBe(404);
    const tampered = uploadUrl.replace(/signature=./, (m) => (m.endsWith('A') ? 'signature=B' : 'signature=A'));
    expect((await fetch(tampered, { method: 'PUT', body: new Uint8Array(PNG) })).status).toBe(403);
  });
});

describe('who sees which file', () => {
  test('an internal note’s files are staff-only: not in the customer’s thread, not by node id, not attachable by id', async ({ team, ticket }) => {
    const note = await gql(ADD, { input: { ticketId: ticket.id, body: 'staff only', isInternal: true, attachments: slots(1) } }, { as: team.tokens.agent, files: [{ name: 'secret.png', bytes: PNG }] });
    const [attachment] = note.data.addMessage.message.attachments;
    const node = `query($id: ID!) { node(id: $id) { ... on Attachment { ${ATTACHMENT} } } }`;
    expect((await gql(node, { id: attachment.id }, { as: team.tokens.agent })).data.node.filename).toBe('secret.png');
    expect((await gql(node, { id: attachment.id }, { as: team.tokens.customer })).data.node).toBeNull();

    const thread = await gql(THREAD, { id: ticket.id }, { as: team.tokens.customer });
    expect(JSON.stringify(thread.data)).not.toContain(attachment.id);
    const steal = await gql(ADD, { input: { ticketId: ticket.id, body: 'mine now', attachments: [{ uploadId: attachment.id }] } }, { as: team.tokens.customer });
    expect(codeOf(steal)).toBe('NOT_FOUND');
    // A link the customer makes up for it is refused: only the server signs links.
    const forged = `${base}/attachments/${attachment.id}/secret.png?expires=${Math.floor(Date.now() / 1000) + 60}&signature=${'A'.repeat(43)}`;
    expect((await fetch(forged)).status).toBe(403);
  });

  test('another team sees nothing of a file: node is null, its id NOT_FOUND', async ({ team, otherTeam, ticket }) => {
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'ours', attachments: slots(1) } }, { as: team.keys.write, files: [{ name: 'x.png', bytes: PNG }] });
    const [attachment] = answer.data.addMessage.message.attachments;
    const node = await gql('query($id: ID!) { node(id: $id) { id } }', { id: attachment.id }, { as: otherTeam.keys.admin });
    expect(node.data.node).toBeNull();
    const theirs = (await gql('mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }', { input: { title: 'x', body: 'y', customer: { email: 'o@example.com' } } }, { as: otherTeam.keys.write })).data.createTicket.ticketId;
    const steal = await gql(ADD, { input: { ticketId: theirs, body: 'x', attachments: [{ uploadId: attachment.id }] } }, { as: otherTeam.keys.write });
    expect(codeOf(steal)).toBe('NOT_FOUND');
  });

  test('an expired or tampered link is refused; a deleted ticket takes its files and links with it', async ({ team, ticket }) => {
    const answer = await gql(ADD, { input: { ticketId: ticket.id, body: 'x', attachments: slots(1) } }, { as: team.keys.write, files: [{ name: 'x.png', bytes: PNG }] });
    const [attachment] = answer.data.addMessage.message.attachments;
    const uuid = decodeId(attachment.id)!.uuid;
    const expired = `${base}/attachments/${attachment.id}/x.png?${createLinks(JWT_SECRET).query('download', uuid, Math.floor(Date.now() / 1000) - 1)}`;
    const refused = await fetch(expired);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as any).errors[0].message).toBe('This link has expired: ask the API for a new one');
    const tampered = attachment.url.replace(/expires=(\d+)/, (_: string, n: string) => `expires=${Number(n) + 3600}`);
    expect((await fetch(tampered)).status).toBe(403);
    expect((await fetch(attachment.url)).status).toBe(200);

    const del = await gql('mutation($input: DeleteTicketInput!) { deleteTicket(input: $input) { deletedTicketId } }', { input: { id: ticket.id } }, { as: team.keys.admin });
    expect(del.data.deleteTicket.deletedTicketId).toBe(ticket.id);
    const gone = await fetch(attachment.url);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as any).errors[0].extensions.code).toBe('NOT_FOUND');
    expect(storedFiles(team.team.id)).toEqual([]);
  });
});

describe('no N+1', () => {
  test('tickets with their messages’ attachments run a fixed number of SQL statements', async ({ team, customer, app: { db, sql } }) => {
    for (let i = 0; i < 10; i++) {
      const ticket = await newTicket(team.keys.write, { title: `t${i}`, body: 'first', customerId: customer.id });
      const message = await db.message.findFirstOrThrow({ where: { ticketId: decodeId(ticket.id)!.uuid } });
      await db.attachment.createMany({
        data: [0, 1].map((n) => ({
          teamId: team.team.id,
          messageId: message.id,
          uploader: 'test',
          filename: `f${n}.png`,
          contentType: 'image/png',
          byteSize: 1,
          checksum: '0'.repeat(64),
          storageKey: `${team.team.id}/${crypto.randomUUID()}`,
          storedAt: new Date(),
        })),
      });
    }
    const document = parse(
      `query($first: Int!) { tickets(first: $first) { edges { node { messages(first: 5) { edges { node { attachments { id filename url } } } } } } } }`,
    ) as TypedDocumentNode<any, { first: number }>;
    const countFor = async (first: number) => {
      await execute(document, { as: team.keys.read, variables: { first: 1 } });
      sql.length = 0;
      const data = (await execute(document, { as: team.keys.read, variables: { first } })).ok();
      expect(data.tickets.edges.map((e: any) => e.node.messages.edges[0].node.attachments.length)).toEqual(Array(first).fill(2));
      return sql.filter((q) => !q.includes('"api_keys"')).length;
    };
    const few = await countFor(2);
    const many = await countFor(10);
    expect(many).toBe(few);
    expect(many).toBeLessThanOrEqual(4);
  });
});

describe('live events', () => {
  test('messageAdded carries the files to those who may see the message: staff get the note’s, the customer only the reply’s', async ({ team, ticket }) => {
    const query = `subscription($id: ID!) { messageAdded(ticketId: $id) { body attachments { filename contentType url } } }`;
    const staff = subscribe(wsClient(base, team.tokens.agent), query, { id: ticket.id });
    const owner = subscribe(wsClient(base, team.tokens.customer), query, { id: ticket.id });
    await listeningOn(base, 2);
    await gql(ADD, { input: { ticketId: ticket.id, body: 'note', isInternal: true, attachments: slots(1) } }, { as: team.tokens.agent, files: [{ name: 'internal.png', bytes: PNG }] });
    await gql(ADD, { input: { ticketId: ticket.id, body: 'reply', attachments: slots(1) } }, { as: team.tokens.agent, files: [{ name: 'public.png', bytes: PNG }] });

    const files = (r: { data?: any }) => [r.data.messageAdded.body, r.data.messageAdded.attachments.map((a: any) => a.filename)];
    expect((await staff.waitFor(2)).map(files)).toEqual([
      ['note', ['internal.png']],
      ['reply', ['public.png']],
    ]);
    const seen = await owner.waitFor(1);
    expect(seen.map(files)).toEqual([['reply', ['public.png']]]);
    const download = await fetch(seen[0]!.data!.messageAdded.attachments[0].url);
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);
    staff.stop();
    owner.stop();
  });
});

describe('clean-up', () => {
  test('uploads no message took are deleted with their bytes after 24 hours; younger ones and attached ones stay', async ({ team, ticket }) => {
    const old = await twoStep(team.keys.write, PNG);
    const young = await twoStep(team.keys.write, ELF);
    const used = await twoStep(team.keys.write, Buffer.from('attached'));
    await gql(ADD, { input: { ticketId: ticket.id, body: 'x', attachments: [{ uploadId: used.uploadId }] } }, { as: team.keys.write });
    const { db } = testApp();
    await db.attachment.updateMany({ where: { id: { in: [old, used].map((u) => decodeId(u.uploadId)!.uuid) } }, data: { createdAt: new Date(Date.now() - 25 * 3600_000) } });
    await purgeExpiredUploads(db, store);
    const left = await db.attachment.findMany({ where: { teamId: team.team.id }, select: { id: true } });
    expect(left.map((a) => a.id).sort()).toEqual([young, used].map((u) => decodeId(u.uploadId)!.uuid).sort());
    expect(storedFiles(team.team.id).sort()).toEqual(left.map((a) => a.id).sort());
  });

  test('deleteTeam deletes the team’s files', async ({ team, ticket }) => {
    await gql(ADD, { input: { ticketId: ticket.id, body: 'x', attachments: slots(1) } }, { as: team.keys.write, files: [{ name: 'x.png', bytes: PNG }] });
    await twoStep(team.keys.write, ELF);
    expect(storedFiles(team.team.id)).toHaveLength(2);
    const del = await gql('mutation($input: DeleteTeamInput!) { deleteTeam(input: $input) { deletedTeamId } }', { input: { id: team.teamId } }, { as: team.keys.admin });
    expect(del.data.deleteTeam.deletedTeamId).toBe(team.teamId);
    expect(fs.existsSync(path.join(dir, team.team.id))).toBe(false);
  });
});

describe('emails and webhooks', () => {
  const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.includes(address));

  test('a public reply’s email carries its files; past EMAIL_ATTACHMENT_BYTES it links to them; internal notes send nothing', async ({ team, customer, ticket }) => {
    await jobsDone(testApp().db, 'to', [customer.email]);
    const before = mailsTo(customer.email).length;
    await gql(ADD, { input: { ticketId: ticket.id, body: 'note', isInternal: true, attachments: slots(1) } }, { as: team.tokens.agent, files: [{ name: 'internal.png', bytes: PNG }] });
    await gql(ADD, { input: { ticketId: ticket.id, body: 'Your screenshot, annotated', attachments: slots(1) } }, { as: team.tokens.agent, files: [{ name: 'annotated.png', bytes: PNG }] });
    const big = [Buffer.alloc(LIMIT, 'x'), Buffer.alloc(LIMIT, 'y')];
    await gql(ADD, { input: { ticketId: ticket.id, body: 'Two logs', attachments: slots(2) } }, { as: team.tokens.agent, files: big.map((bytes, i) => ({ name: `log${i}.txt`, bytes })) });
    await jobsDone(testApp().db, 'to', [customer.email]);

    const mails = mailsTo(customer.email).slice(before);
    expect(mails).toHaveLength(2);
    const [withFile, withLinks] = mails.map((m) => m.raw);
    expect(withFile).toContain('Your screenshot, annotated');
    expect(withFile).toMatch(/Content-Disposition: attachment; filename=annotated\.png/);
    expect(withFile!.replace(/\r?\n/g, '')).toContain(PNG.toString('base64'));
    expect(withLinks).not.toMatch(/Content-Disposition: attachment/);
    const links = [...withLinks!.replace(/=\r?\n/g, '').matchAll(/log(\d)\.txt \(1 KiB\): (http:\/\/\S+)/g)];
    expect(links.map((m) => m[1])).toEqual(['0', '1']);
    const linked = await fetch(links[0]![2]!.replace(/=3D/g, '='));
    expect(Buffer.from(await linked.arrayBuffer()).equals(big[0]!)).toBe(true);
    expect(mails.join('')).not.toContain('internal.png');
  });

  test('webhooks list the files with signed links; an internal note’s only for endpoints that include internal notes', async ({ team, ticket }) => {
    const secrets: Record<string, string> = {};
    const plain = await startReceiver({ secret: () => secrets.plain! });
    const internal = await startReceiver({ secret: () => secrets.internal! });
    const endpoint = 'mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { signingSecret } }';
    secrets.plain = (await gql(endpoint, { input: { url: plain.url, events: ['ticket.message_added'] } }, { as: team.keys.admin })).data.createWebhookEndpoint.signingSecret;
    secrets.internal = (await gql(endpoint, { input: { url: internal.url, events: ['ticket.message_added'], includeInternal: true } }, { as: team.keys.admin })).data
      .createWebhookEndpoint.signingSecret;

    const note = await gql(ADD, { input: { ticketId: ticket.id, body: 'note', isInternal: true, attachments: slots(1) } }, { as: team.tokens.agent, files: [{ name: 'internal.png', bytes: PNG }] });
    const reply = await gql(ADD, { input: { ticketId: ticket.id, body: 'reply', attachments: slots(1) } }, { as: team.tokens.agent, files: [{ name: 'public.png', bytes: PNG }] });
    await eventually(() => plain.hits.length === 1 && internal.hits.length === 2);

    const files = (hit: { body: string }) => JSON.parse(hit.body).data.message.attachments;
    const publicFile = reply.data.addMessage.message.attachments[0];
    expect(files(plain.hits[0]!)).toEqual([
      { id: publicFile.id, filename: 'public.png', contentType: 'image/png', byteSize: PNG.length, checksum: sha256(PNG), url: expect.any(String), createdAt: publicFile.createdAt },
    ]);
    expect(plain.hits.map((h) => h.body).join('')).not.toContain('internal.png');
    expect(internal.hits.map((h) => files(h)[0].filename).sort()).toEqual(['internal.png', 'public.png']);
    const download = await fetch(files(plain.hits[0]!)[0].url);
    expect(Buffer.from(await download.arrayBuffer()).equals(PNG)).toBe(true);
    expect(note.data.addMessage.message.isInternal).toBe(true);
  });
});
