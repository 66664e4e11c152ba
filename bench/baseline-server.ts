// Runs the baseline in its own process (so its CPU time can be measured apart).
import { startBaseline } from './baseline.js';

const baseline = await startBaseline(process.env.DATABASE_URL!, Number(process.env.DATABASE_POOL_SIZE ?? 10), process.env.REDIS_URL || undefined);
process.stdout.write(`baseline listening on ${baseline.url}\n`);
process.on('SIGTERM', () => void baseline.stop().then(() => process.exit(0)));
