// A process that loads the embedded PostgreSQL module, sets the exit code EXIT_CODE
// and ends on its own, as vitest does after a run.
await import('../../src/platform/embedded-postgres.js');
process.exitCode = Number(process.env.EXIT_CODE);
