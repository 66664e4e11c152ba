import { createRequire } from 'node:module';
import { defineConfig } from 'vitest/config';

const require = createRequire(import.meta.url);

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (main) and ESM (module) builds; Node (and so every
    // dependency) loads the CJS one, so the project's own code must too, or the
    // schema's types come from two graphql instances.
    alias: [{ find: /^graphql$/, replacement: require.resolve('graphql') }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/global.ts'],
    // Disposes what each file leaves running (servers, clients, processes, pools).
    setupFiles: ['test/support/leftovers.ts'],
    // Generous for a machine shared with other work (tests wait for events, never for
    // a fixed time, so an idle machine is not slowed down), yet bounded.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The suite's PostgreSQL and Redis stop after the run.
    teardownTimeout: 60_000,
    // Two cores: two workers; tests within a file run one after another.
    maxWorkers: 2,
  },
});
