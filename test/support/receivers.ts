// Real receivers for side effects: an SMTP server and an HTTP webhook endpoint,
// each closed when the test file ends (or earlier by close()).
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { leftover } from './leftovers.js';

export { eventually } from './wait.js';

export type ReceivedMail = { from: string; to: string[]; raw: string };

/**
 * Keeps every mail it receives in `mails`. While `holding()` holds for a mail, the mail
 * is kept but its sender waits for the answer until `answerHeld()` (a slow relay).
 */
export async function startSmtp(options: { holding?: (mail: ReceivedMail) => boolean } = {}) {
  const mails: ReceivedMail[] = [];
  const held = heldAnswers();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      stream.on('end', () => {
        const mail = { from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw };
        mails.push(mail);
        if (options.holding?.(mail)) held.hold(() => callback());
        else callback();
      });
    },
  });
  // A sender killed in the middle of a mail (the fault-injection test kills servers)
  // resets its connection: smtp-server emits that as an error, which is no fault here.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  const close = closeOnce(() => {
    held.answer();
    return new Promise<void>((r) => server.close(() => r()));
  });
  leftover('an SMTP server', close);
  return { url: `smtp://127.0.0.1:${port}`, mails, close, answerHeld: held.answer };
}

export type Hit = { headers: http.IncomingHttpHeaders; body: string; status: number; signatureValid: boolean };

/**
 * Verifies Standard Webhooks signatures with `secret()`; answers 500 to the first
 * `failFirst` calls, and to every call while `failing()` holds (an outage of the receiver).
 * While `holding()` holds, calls are received but not answered until `answerHeld()` (a
 * receiver that hangs, keeping its callers busy).
 */
export async function startReceiver(options: { secret: () => string; failFirst?: number; failing?: () => boolean; holding?: () => boolean }) {
  const hits: Hit[] = [];
  const held = heldAnswers();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString('utf8')));
    req.on('end', () => {
      const id = String(req.headers['webhook-id']);
      const ts = String(req.headers['webhook-timestamp']);
      const key = Buffer.from(options.secret().replace(/^whsec_/, ''), 'base64');
      const expected = `v1,${createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64')}`;
      const signatureValid = String(req.headers['webhook-signature']).split(' ').includes(expected);
      const status = hits.length < (options.failFirst ?? 0) || options.failing?.() ? 500 : 200;
      hits.push({ headers: req.headers, body, status, signatureValid });
      // A held caller may be gone (killed) by the time it is answered.
      res.on('error', () => {});
      const answer = () => void res.writeHead(status).end();
      if (options.holding?.()) held.hold(answer);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = closeOnce(() => {
    held.answer();
    return new Promise<void>((r) => server.close(() => r()));
  });
  leftover('a webhook receiver', close);
  return { url: `http://localhost:${port}/hooks`, hits, close, answerHeld: held.answer };
}

/** Answers kept back by a receiver that is holding, all given at once by `answer()`. */
function heldAnswers() {
  const held: Array<() => void> = [];
  return {
    hold: (answer: () => void) => void held.push(answer),
    answer: () => {
      for (const answer of held.splice(0)) answer();
    },
  };
}

/** The first call closes; later ones wait for the same close. */
function closeOnce(close: () => Promise<void>): () => Promise<void> {
  let closing: Promise<void> | undefined;
  return () => (closing ??= close());
}
