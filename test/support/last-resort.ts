// A process run by runProcess that, on each line of standard input, raises what the
// line names: an unhandled rejection, an uncaught connection error, or another
// uncaught exception. It prints `alive` after each line it survives, and its one
// stop step prints `undone` so that a test sees the shutdown ran.
import readline from 'node:readline';
import { createLogger } from '../../src/logger.js';
import { runProcess } from '../../src/platform/lifecycle.js';

runProcess({ name: 'last-resort', log: createLogger('silent'), stepTimeoutMs: 5_000 }, async (life) => {
  life.onStop('marker', () => void process.stdout.write('undone\n'));
  const lines = readline.createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line === 'rejection') void Promise.reject(new Error('nobody awaited this'));
    if (line === 'connection') {
      setImmediate(() => {
        throw Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
      });
    }
    if (line === 'bug') {
      setImmediate(() => {
        throw new TypeError('undefined is not a function');
      });
    }
    // After the raised error has had its turn (it is raised on the next turn of the loop).
    setImmediate(() => setImmediate(() => process.stdout.write('alive\n')));
  });
  process.stdout.write('ready\n');
});
