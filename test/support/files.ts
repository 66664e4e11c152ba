// Temporary directories of a test, removed when the test file ends.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leftover } from './leftovers.js';

/** A new directory under the system's temporary one that PostgreSQL run as its own user can reach. */
export function temporaryDirectory(prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.chmodSync(dir, 0o755);
  leftover(`the directory ${dir}`, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
