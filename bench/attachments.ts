// Upload and download throughput of a 10 MiB file through ticketql (multipart, the
// two-step PUT, the signed download link) against `cat` to and from a bare TCP socket
// on the same machine, and the server's memory while it runs: the files stream, so
// the resident set should not grow by the file's size. Clients are curl and bash in
// child processes, so this process holds only the server. Run: npx tsx bench/attachments.ts
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { buildApp } from '../src/app.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { directoryStore } from '../src/attachments/store.js';
import { createDb } from '../src/db.js';
import { createLogger } from '../src/logger.js';
import { benchDatabase } from './database.js';

const MIB = 1_048_576;
const SIZE = 10 * MIB;
const RUNS = 5;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-bench-attachments-'));
const file = path.join(dir, 'payload.bin');
fs.writeFileSync(file, randomBytes(SIZE));
const checksum = createHash('sha256').update(fs.readFileSync(file)).digest('hex');

const database = await benchDatabase();
const db = createDb(database.url, 8);
const team = await db.team.create({ data: { name: 'Bench', slug: `bench-${Date.now()}` } });
const { secret } = await createApiKey(db, { teamId: team.id, name: 'bench', scopes: ['READ', 'WRITE'], mode: 'TEST' });
const app = buildApp({ db, log: createLogger('error'), jwtSecret: 'bench-secret-bench-secret-bench-secret-0', attachments: { store: directoryStore(path.join(dir, 'store')) } });
const base = await app.start(0);

// The server's resident set, sampled while the transfers run.
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);

// Asynchronously: the server answers from this process's event loop.
const run = promisify(execFile);
const curl = async (...args: string[]) => (await run('curl', ['-sS', '--fail-with-body', ...args], { encoding: 'utf8', maxBuffer: 64 * MIB })).stdout;
const graphql = async (query: string, variables: object) =>
  JSON.parse(await curl(`${base}/graphql`, '-H', `authorization: Bearer ${secret}`, '-H', 'content-type: application/json', '-d', JSON.stringify({ query, variables })));
const ticketId = (await graphql('mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticketId } }', {
  input: { title: 'Bench', body: 'files', customer: { email: 'bench@example.com' } },
})).data.createTicket.ticketId;

/** Median seconds of `transfer` over RUNS runs (after one warm-up). */
async function measure(transfer: () => Promise<void>): Promise<number> {
  await transfer();
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    await transfer();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  return times.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

const ADD = 'mutation($input: AddMessageInput!) { addMessage(input: $input) { message { attachments { url } } } }';
let url = '';
const multipart = async () => {
  const operations = JSON.stringify({ query: ADD, variables: { input: { ticketId, body: 'bench', attachments: [{ file: null }] } } });
  const answer = JSON.parse(
    await curl(`${base}/graphql`, '-H', `authorization: Bearer ${secret}`, '-H', 'x-graphql-csrf: 1', '-F', `operations=${operations}`, '-F', 'map={"0":["variables.input.attachments.0.file"]}', '-F', `0=@${file}`),
  );
  url = answer.data.addMessage.message.attachments[0].url;
};
const twoStep = async () => {
  const created = await graphql('mutation($input: CreateUploadInput!) { createUpload(input: $input) { uploadUrl } }', {
    input: { filename: 'payload.bin', byteSize: SIZE, checksum },
  });
  await curl('-T', file, created.data.createUpload.uploadUrl);
};
const download = async () => void (await curl('-o', '/dev/null', url));

// cat into and out of a bare TCP socket: what moving the bytes costs without HTTP,
// hashing, sniffing or storage.
const sink = net.createServer((socket) => socket.resume()).listen(0, '127.0.0.1');
const source = net.createServer((socket) => fs.createReadStream(file).pipe(socket)).listen(0, '127.0.0.1');
await Promise.all([sink, source].map((s) => new Promise((r) => s.once('listening', r))));
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;
const catUp = async () => void (await run('bash', ['-c', `cat ${file} > /dev/tcp/127.0.0.1/${portOf(sink)}`]));
const catDown = async () => void (await run('bash', ['-c', `cat < /dev/tcp/127.0.0.1/${portOf(source)} > /dev/null`]));

// What starting the client costs without moving a byte: subtracted from each figure.
const empty = { curl: await measure(async () => void (await curl('-o', '/dev/null', `${base}/healthz`))), cat: await measure(async () => void (await run('bash', ['-c', 'cat /dev/null']))) };

const before = process.memoryUsage().rss;
peak = before;
const results = {
  'upload, multipart (addMessage)': await measure(multipart),
  'upload, two-step PUT': await measure(twoStep),
  'download, signed link': await measure(download),
  'cat to a socket': await measure(catUp),
  'cat from a socket': await measure(catDown),
};
clearInterval(sampler);

console.log(`10 MiB file, median of ${RUNS} runs, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), load ${os.loadavg()[0]!.toFixed(1)}:`);
console.log(`  (starting the client: curl ${(empty.curl * 1000).toFixed(0)} ms, bash ${(empty.cat * 1000).toFixed(0)} ms, subtracted)`);
for (const [what, seconds] of Object.entries(results)) {
  const net = seconds - (what.startsWith('cat') ? empty.cat : empty.curl);
  console.log(`  ${what.padEnd(32)} ${(seconds * 1000).toFixed(0).padStart(5)} ms  ${(SIZE / MIB / net).toFixed(0).padStart(5)} MiB/s`);
}
console.log(`server resident set: ${(before / MIB).toFixed(0)} MiB before, ${(peak / MIB).toFixed(0)} MiB at most during ${RUNS * 3 + 3} transfers of 10 MiB`);

sink.close();
source.close();
await app.stop();
await db.$disconnect();
await database.stop();
fs.rmSync(dir, { recursive: true, force: true });
