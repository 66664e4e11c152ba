import { pino, type Logger } from 'pino';

export type { Logger };

/** Structured JSON logs; never credentials (headers are redacted). */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: { paths: ['req.headers.authorization', '*.authorization', '*.secret', '*.password'], censor: '[redacted]' },
  });
}
