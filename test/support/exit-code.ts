// A process that loads the embedded PostgreSQL module, sets an exit code and ends
// on its own, as vitest does after a failed run.
await import('../../src/database/embedded.js');
process.exitCode = 3;
