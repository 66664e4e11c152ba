// Runs ticketql's own entry points as child processes, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
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

export function run(script: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: root, env });
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
      const until = Date.now() + timeoutMs;
      for (;;) {
        const match = out.match(pattern);
        if (match) return match;
        if (child.exitCode !== null) throw new Error(`exited (${child.exitCode}) before ${pattern}:\n${out}\n${err}`);
        if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}

/** Runs the CLI to completion. */
export async function cli(args: string[], env: NodeJS.ProcessEnv) {
  const p = run('src/cli.ts', args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr(), json: () => JSON.parse(p.stdout()) };
}
