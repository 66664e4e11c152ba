// Applies pending migrations with Prisma's own `migrate deploy`, through the
// JavaScript schema engine configured in prisma.config.ts.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger as WorkerLogger, runMigrations as runWorkerMigrations } from 'graphile-worker';
import pg from 'pg';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
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

function prismaMigrateDeploy(databaseUrl: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [prismaCli, 'migrate', 'deploy'],
      {
        cwd: projectRoot,
        env: { ...process.env, DATABASE_URL: databaseUrl, CHECKPOINT_DISABLE: '1', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
        timeout: 180_000,
      },
      (err, stdout, stderr) => {
        if (!err) return resolve(stdout);
        const detail = `${stdout}\n${stderr}`.split('\n').filter((l) => /error|P\d{4}/i.test(l));
        reject(new MigrationError(`migrations failed: ${detail.join(' ').trim() || err.message}`));
      },
    );
  });
}

/**
 * Applies pending migrations and returns their names. Checks first, because the
 * Prisma CLI takes about ten seconds to exit even when there is nothing to do.
 */
export async function migrate(databaseUrl: string): Promise<string[]> {
  const pending = await pendingMigrations(databaseUrl);
  if (pending.length > 0) await prismaMigrateDeploy(databaseUrl);
  // The job queue's own schema (graphile_worker), which mutations write jobs into.
  await runWorkerMigrations({ connectionString: databaseUrl, logger: quiet });
  return pending;
}

const quiet = new WorkerLogger(() => () => {});
