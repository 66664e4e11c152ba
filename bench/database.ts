// The database of a benchmark run: BENCH_DATABASE_URL, or an embedded PostgreSQL
// in a temporary directory (with pg_stat_statements, for SQL counts), migrated.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres } from '../src/platform/embedded-postgres.js';
import { migrate } from '../src/platform/migrate.js';

export async function benchDatabase(): Promise<{ url: string; stop(): Promise<void> }> {
  let url = process.env.BENCH_DATABASE_URL;
  let stop = async () => {};
  if (!url) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-bench-'));
    fs.chmodSync(dir, 0o755);
    const embedded = await startEmbeddedPostgres({ dataDir: dir, postgresFlags: ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track_planning=on', '-c', 'max_connections=200'] });
    url = embedded.url;
    stop = async () => {
      await embedded.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    };
  }
  try {
    await migrate(url);
  } catch (err) {
    await stop();
    throw err;
  }
  return { url, stop };
}
