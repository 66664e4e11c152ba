// Applies pending migrations with Prisma's own `migrate deploy`, through the
// JavaScript schema engine configured in prisma.config.ts.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger as WorkerLogger, runMigrations as runWorkerMigrations } from 'graphile-worker';
import pg from 'pg';

/** The folder of package.json: two levels up from src/platform, three from build/src/platform. */
function findProjectRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`);
  }
}

const projectRoot = findProjectRoot(path.dirname(fileURLToPath(import.meta.url)));
const migrationsDir = path.join(projectRoot, 'prisma', 'migrations');
const prismaCli = createRequire(import.meta.url).resolve('prisma/build/index.js');

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Names of the migrations in prisma/migrations that the database has not applied. */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  const all = fs
    .readdirSync(migrationsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ name: string }>(
      `SELECT migration_name AS name FROM _prisma_migrations
       WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const applied = new Set(rows.map((r) => r.name));
    return all.filter((name) => !applied.has(name));
  } catch (err) {
    if ((err as { code?: string }).code === '42P01') return all; // no _prisma_migrations yet
    throw err;
  } finally {
    await client.end();
  }
}

const MIGRATE_TIMEOUT_MS = 180_000;

/**
 * Runs `prisma migrate deploy` in a process group of its own, so that a Ctrl-C
 * meant for the server does not stop it in the middle of a migration (which
 * Prisma would then refuse to go past); the server stops once it is done.
 */
function prismaMigrateDeploy(databaseUrl: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, 'migrate', 'deploy'], {
      cwd: projectRoot,
      env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < 100_000) output += chunk.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const timer = setTimeout(() => child.kill('SIGKILL'), MIGRATE_TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new MigrationError(`migrations failed: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const detail = output.split('\n').filter((l) => /error|P\d{4}/i.test(l));
      const reason = signal ? `prisma migrate deploy ended by ${signal}` : `prisma migrate deploy exited with ${code}`;
      reject(new MigrationError(`migrations failed: ${detail.join(' ').trim() || reason}`));
    });
  });
}

/**
 * Applies pending migrations and returns their names. Checks first, because the
 * Prisma CLI takes about ten seconds to exit even when there is nothing to do.
 */
export async function migrate(databaseUrl: string, options: { onPending?: (names: string[]) => void } = {}): Promise<string[]> {
  const pending = await pendingMigrations(databaseUrl);
  if (pending.length > 0) {
    options.onPending?.(pending);
    await prismaMigrateDeploy(databaseUrl);
  }
  // The job queue's own schema (graphile_worker), which mutations write jobs into.
  await runWorkerMigrations({ connectionString: databaseUrl, logger: quiet });
  return pending;
}

const quiet = new WorkerLogger(() => () => {});
