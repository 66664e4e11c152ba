// Outgoing mail: SMTP when SMTP_URL is set, otherwise .eml files under
// DATA_DIR/mail (a development inbox you can open with any mail client).
import fs from 'node:fs';
import path from 'node:path';
import nodemailer from 'nodemailer';

export type Email = {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** Message-ID of this mail, and the thread it belongs to. */
  messageId: string;
  inReplyTo?: string;
  references?: string;
};

export type Mailer = { send(email: Email): Promise<void>; close(): void };

export function createMailer(options: { smtpUrl?: string; from: string; dataDir: string }): Mailer {
  if (options.smtpUrl) {
    const transport = nodemailer.createTransport(options.smtpUrl);
    return {
      async send(email) {
        await transport.sendMail({ from: options.from, ...email });
      },
      close: () => transport.close(),
    };
  }
  const dir = path.join(options.dataDir, 'mail');
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  return {
    async send(email) {
      const info = await transport.sendMail({ from: options.from, ...email });
      fs.mkdirSync(dir, { recursive: true });
      const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${email.messageId.replace(/[^\w.-]/g, '')}.eml`;
      fs.writeFileSync(path.join(dir, name), info.message as Buffer);
    },
    close: () => transport.close(),
  };
}
