// The demo team of a fresh development database (`npm start` with no DATABASE_URL).
import fs from 'node:fs';
import path from 'node:path';
import type { Db } from '../db.js';
import { createEventBus } from '../live/bus.js';
import { createAgent } from './agents.js';
import { createTeam } from './teams.js';

const DEV_KEY_FILE = 'dev-admin-key';

/**
 * On a database with no team yet, creates the demo team with an admin agent and
 * an admin API key, and keeps the key in DATA_DIR so that every start can print it.
 * Returns the key when it is known and still valid.
 */
export async function ensureDemoTeam(db: Db, dataDir: string): Promise<string | undefined> {
  const file = path.join(dataDir, DEV_KEY_FILE);
  if ((await db.team.count()) === 0) {
    // Before the server starts nobody subscribes: an in-process bus hears its changes.
    const deps = { db, bus: createEventBus({}) };
    const { team, key } = await createTeam(
      deps,
      { name: 'Demo', slug: 'demo', supportEmail: 'support@demo.test', acceptsPublicTickets: true },
      'TEST',
    );
    await createAgent(deps, team.id, { name: 'Demo Admin', email: 'admin@demo.test', role: 'ADMIN' });
    fs.mkdirSync(dataDir, { recursive: true });
    fs.writeFileSync(file, key.secret, { mode: 0o600 });
    return key.secret;
  }
  return fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : undefined;
}
