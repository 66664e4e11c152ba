// Start-up steps shared by the server and the CLI: where the database is, the
// development JWT secret, and the demo team of a fresh development database.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from './config.js';
import type { Db } from './db.js';
import { startEmbeddedPostgres } from './database/embedded.js';
import { createTeam } from './domain/teams.js';

export type DatabaseHandle = { url: string; embedded: boolean; stop(): Promise<void> };

/** DATABASE_URL, or the embedded PostgreSQL of DATA_DIR (started if needed). */
export async function openDatabase(config: Config, opts: { shareRunning?: boolean } = {}): Promise<DatabaseHandle> {
  if (config.databaseUrl) return { url: config.databaseUrl, embedded: false, stop: async () => {} };
  const pg = await startEmbeddedPostgres({ dataDir: config.dataDir, shareRunning: opts.shareRunning });
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

const DEV_KEY_FILE = 'dev-admin-key';

/**
 * On a database with no team yet, creates the demo team with an admin agent and
 * an admin API key, and keeps the key in DATA_DIR so that every start can print it.
 * Returns the key when it is known and still valid.
 */
export async function ensureDemoTeam(db: Db, dataDir: string): Promise<string | undefined> {
  const file = path.join(dataDir, DEV_KEY_FILE);
  if ((await db.team.count()) === 0) {
    const { team, key } = await createTeam(
      db,
      { name: 'Demo', slug: 'demo', supportEmail: 'support@demo.test', acceptsPublicTickets: true },
      'TEST',
    );
    await db.agent.create({ data: { teamId: team.id, name: 'Demo Admin', email: 'admin@demo.test', role: 'ADMIN' } });
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, key.secret, { mode: 0o600 });
    return key.secret;
  }
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}
