// The directory store of attachments on a real disk: a write that fails leaves no file behind.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect, test } from 'vitest';
import { directoryStore } from '../src/attachments/store.js';

test('a body that fails before its file is open (a PUT cut off, a size exceeded at once) leaves no partial file', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ticketql-store-'));
  try {
    const store = directoryStore(dir);
    const team = randomUUID();
    for (let i = 0; i < 20; i++) {
      // Fails on the next tick: before the file system has opened the temporary file.
      const source = new Readable({ read() {} });
      process.nextTick(() => source.destroy(new Error('body longer than declared')));
      await expect(store.write(`${team}/${randomUUID()}`, source)).rejects.toThrow('body longer than declared');
    }
    expect(fs.readdirSync(path.join(dir, team))).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
