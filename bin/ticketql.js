#!/usr/bin/env node
// The `ticketql` command: the compiled CLI (`npm run build` writes build/).
import fs from 'node:fs';

const cli = new URL('../build/src/cli.js', import.meta.url);
if (!fs.existsSync(cli)) {
  process.stderr.write(`ticketql: not built yet; run \`npm run build\` in ${new URL('..', import.meta.url).pathname}\n`);
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(cli.href);
