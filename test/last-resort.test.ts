// The process-wide policy for errors nothing caught (src/platform/lifecycle.ts).
import { describe, expect, test } from 'vitest';
import { cleanEnv, run } from './support/process.js';
import { eventually } from './support/wait.js';

describe('errors nothing caught', () => {
  test('an unhandled rejection and an uncaught connection error are logged and the process goes on; any other uncaught exception stops it cleanly with exit code 1', async () => {
    const p = run('test/support/last-resort.ts', [], cleanEnv({}));
    await p.waitFor(/ready/, 60_000);
    const count = () => p.stdout().split('\n').filter((l) => l === 'alive').length;
    p.child.stdin!.write('rejection\n');
    await p.waitFor(/alive/, 30_000);
    p.child.stdin!.write('connection\n');
    await eventually(() => count() >= 2 || p.child.exitCode !== null, { what: 'the process to say it is alive after the connection error' });
    expect(p.child.exitCode).toBeNull();
    p.child.stdin!.write('bug\n');
    expect(await p.exited).toBe(1);
    expect(p.stdout()).toContain('undone');
  });
});
