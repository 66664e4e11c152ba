// Start-up steps shared by the server, the worker and the CLI: where the database
// is, and the development JWT secret.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

export type DatabaseHandle = { url: string; embedded: boolean; stop(): Promise<void> };

/** DATABASE_URL, or the embedded PostgreSQL of DATA_DIR (started if needed). */
export async function openDatabase(
  config: Config,
  opts: { shareRunning?: boolean; progress?: (message: string) => void } = {},
): Promise<DatabaseHandle> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: async () => {} };
  const pg = await startEmbeddedPostgres({ dataDir: config.dataDir, shareRunning: opts.shareRunning, progress: opts.progress });
  return { url: pg.url, embedded: true, stop: () => pg.stop() };
}

function readOrCreateSecretFile(file: string, create: () => string): string {
  try {
    return fs.readFileSync(file, 'utf8').trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const value = create();
    fs.writeFileSync(file, value, { mode: 0o600 });
    return value;
  }
}

/** JWT_SECRET, or (outside production) a random secret kept in DATA_DIR/jwt-secret. */
export function jwtSecretFor(config: Config): string {
  if (config.jwtSecret) return config.jwtSecret;
  if (config.nodeEnv === 'production') throw new Error('JWT_SECRET is required in production');
  return readOrCreateSecretFile(path.join(config.dataDir, 'jwt-secret'), () => randomBytes(32).toString('base64url'));
}
