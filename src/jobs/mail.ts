// Outgoing mail: SMTP when SMTP_URL is set, otherwise .eml files under
// DATA_DIR/mail (a development inbox you can open with any mail client).
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { AttachmentStore } from '../attachments/store.js';

export type Email = {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Message-ID of this mail, and the thread it belongs to. */
  messageId: string;
  inReplyTo?: string;
  references?: string;
  /** Files read from the attachment store as the mail is sent. */
  attachments?: Array<{ filename: string; contentType: string; storageKey: string }>;
};

export type Mailer = { send(email: Email): Promise<void>; close(): void };

/** The mail as nodemailer takes it: the files streamed from the store. */
function message(from: string, { attachments, ...email }: Email, store: AttachmentStore | undefined) {
  if (attachments?.length && !store) throw new Error('This mailer has no attachment store for the files of the mail');
  return {
    from,
    ...email,
    ...(attachments?.length && {
      attachments: attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: store!.read(a.storageKey) })),
    }),
  };
}

export function createMailer(options: { smtpUrl?: string; from: string; dataDir: string; store?: AttachmentStore }): Mailer {
  if (options.smtpUrl) {
    const transport = nodemailer.createTransport(options.smtpUrl);
    return {
      async send(email) {
        await transport.sendMail(message(options.from, email, options.store));
      },
      close: () => transport.close(),
    };
  }
  const dir = path.join(options.dataDir, 'mail');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(email) {
      const info = await transport.sendMail(message(options.from, email, options.store));
      fs.mkdirSync(dir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${email.messageId.replace(/[^\w.-]/g, '')}.eml`;
      fs.writeFileSync(path.join(dir, name), info.message as Buffer);
    },
    close: () => transport.close(),
  };
}
