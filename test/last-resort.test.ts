// The process-wide policy for errors nothing caught (src/platform/lifecycle.ts).
import { describe, expect, test } from 'vitest';
import { cleanEnv, run } from './support/process.js';

describe('errors nothing caught', () => {
  test('an unhandled rejection and an uncaught connection error are logged and the process goes on; any other uncaught exception stops it cleanly with exit code 1', async () => {
    const p = run('test/support/last-resort.ts', [], cleanEnv({}));
    await p.waitFor(/ready/, 60_000);
    const count = () => p.stdout().split('\n').filter((l) => l === 'alive').length;
    p.child.stdin!.write('rejection\n');
    await p.waitFor(/alive/, 30_000);
    p.child.stdin!.write('connection\n');
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (count() >= 2) resolve();
        if (p.child.exitCode !== null) reject(new Error(`exited: ${p.stdout()}`));
      }, 20);
      p.exited.finally(() => clearInterval(check));
      setTimeout(() => clearInterval(check), 30_000).unref();
    });
    expect(p.child.exitCode).toBeNull();
    p.child.stdin!.write('bug\n');
    expect(await p.exited).toBe(1);
    expect(p.stdout()).toContain('undone');
  });
});
