// Runs ticketql's own entry points as child processes, as a user would: from the
// TypeScript sources through tsx (run), or compiled, as `npm start` runs them
// (build, runBuilt, runNpm).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** The environment of a newcomer: none of the project's variables set. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'PORT', 'HOST', 'DATA_DIR', 'NODE_ENV', 'MIGRATE_ON_START']) {
    delete env[key];
  }
  return { ...env, LOG_LEVEL: 'warn', ...extra };
}

export type Running = {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
};

/** Waits (polling) until `check` holds; fails after `timeoutMs` naming `what`. */
export async function until(check: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Spawns a command with its output collected. `detached`: in a process group of its own, as a terminal runs it. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv, options: { detached?: boolean } = {}): Running {
  const child = spawn(command, args, { cwd: root, env, detached: options.detached });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitFor(pattern, timeoutMs = 60_000) {
      await until(
        () => pattern.test(out) || child.exitCode !== null || child.signalCode !== null,
        timeoutMs,
        () => `${pattern}:\n${out}\n${err}`,
      );
      const match = out.match(pattern);
      if (!match) throw new Error(`exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${out}\n${err}`);
      return match;
    },
  };
}

/** Runs a TypeScript entry point (e.g. src/main.ts) through tsx. */
export function run(script: string, args: string[], env: NodeJS.ProcessEnv): Running {
  return runCommand(process.execPath, ['--import', 'tsx', script, ...args], env);
}

/** Runs a compiled entry point (e.g. build/src/main.js) the way `npm start` does; call build() first. */
export function runBuilt(script: string, args: string[], env: NodeJS.ProcessEnv): Running {
  return runCommand(process.execPath, ['--enable-source-maps', script, ...args], env);
}

/**
 * `npm run <script>` in a process group of its own, like a terminal's foreground job.
 * Its pre-script (the build) is left out: the test file has built already.
 */
export function runNpm(script: string, env: NodeJS.ProcessEnv): Running {
  return runCommand('npm', ['run', script, '--ignore-scripts'], env, { detached: true });
}

let built: Promise<void> | undefined;

/**
 * `npm run build`, once per test file. Test files running at the same time take
 * turns (a lock directory), so that no one starts a half-written build.
 */
export function build(): Promise<void> {
  built ??= (async () => {
    const lock = path.join(os.tmpdir(), `ticketql-build-${createHash('sha256').update(root).digest('hex').slice(0, 12)}.lock`);
    await until(
      () => {
        try {
          fs.mkdirSync(lock);
          return true;
        } catch {
          // A lock left by a test run that was killed.
          const held = fs.statSync(lock, { throwIfNoEntry: false });
          if (held && Date.now() - held.mtimeMs > 300_000) fs.rmSync(lock, { recursive: true, force: true });
          return false;
        }
      },
      300_000,
      () => `the build lock ${lock}`,
    );
    try {
      await new Promise<void>((resolve, reject) =>
        execFile('npm', ['run', '-s', 'build'], { cwd: root }, (err, stdout, stderr) =>
          err ? reject(new Error(`npm run build failed:\n${stdout}\n${stderr}`)) : resolve(),
        ),
      );
    } finally {
      fs.rmSync(lock, { recursive: true, force: true });
    }
  })();
  return built;
}

/** Runs the CLI to completion (the TypeScript sources, or with `built` the compiled one). */
export async function cli(args: string[], env: NodeJS.ProcessEnv, options: { built?: boolean } = {}) {
  const p = options.built ? runBuilt('build/src/cli.js', args, env) : run('src/cli.ts', args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr(), json: () => JSON.parse(p.stdout()) };
}

/** Whether a process runs (a zombie, exited but not reaped, does not). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Pids of the postmasters serving DATA_DIR, found in /proc by their command line
 * (so also one in another PID namespace, or one whose owner is gone).
 */
export function postmastersOf(dataDir: string): number[] {
  const needle = `\0-D\0${path.join(dataDir, 'postgres')}\0`;
  const parents = new Map<number, number>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) continue;
      parents.set(Number(entry), Number(fs.readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]));
    } catch {
      // gone meanwhile
    }
  }
  // A process the postmaster has just forked has its command line until it sets its title.
  return [...parents].filter(([, parent]) => !parents.has(parent)).map(([pid]) => pid);
}

/** Waits until no postmaster serves DATA_DIR. */
export function postgresGone(dataDir: string, timeoutMs = 30_000): Promise<void> {
  return until(() => postmastersOf(dataDir).length === 0, timeoutMs, () => `the embedded PostgreSQL of ${dataDir} to stop`);
}

/** Direct children of a process (Linux). */
export function childrenOf(pid: number): number[] {
  try {
    return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
