// What a test file leaves running (servers, clients, sockets, child processes,
// temporary directories, Redis and database connections) is disposed here, after
// the file's own afterAll hooks, so no file cleans up by hand. vitest.config.ts
// loads this module as a setup file of every test file.
import { afterAll } from 'vitest';

const leftovers: Array<{ what: string; dispose: () => unknown }> = [];

/** Disposes `dispose` when the test file ends, last registered first; returns it for early use. */
export function leftover<T extends () => unknown>(what: string, dispose: T): T {
  leftovers.push({ what, dispose });
  return dispose;
}

/** Disposes everything registered so far, newest first; every disposal runs even when one fails. */
export async function disposeLeftovers(): Promise<void> {
  const failures: string[] = [];
  for (const { what, dispose } of leftovers.splice(0).reverse()) {
    try {
      await dispose();
    } catch (err) {
      failures.push(`${what}: ${(err as Error).message ?? err}`);
    }
  }
  if (failures.length) throw new Error(`could not dispose:\n${failures.join('\n')}`);
}

afterAll(disposeLeftovers);
