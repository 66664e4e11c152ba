// The layout is the architecture: folders import downwards only, and no module
// imports itself back through others (type-only imports count too).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, test } from 'vitest';

const SRC = path.resolve(import.meta.dirname, '../src');

/** Layers, lowest first. A module may import its own folder and any lower layer. */
const LAYERS: string[][] = [
  ['generated'],
  ['prisma-plans.ts', 'pg-commit.ts'],
  ['config.ts', 'logger.ts', 'errors.ts', 'ids.ts', 'db.ts'],
  ['platform'],
  ['auth', 'webhooks', 'attachments'],
  ['live', 'jobs'],
  ['domain'],
  ['context.ts'],
  ['plugins', 'schema'],
  ['http'],
  ['app.ts'],
  ['main.ts', 'worker-main.ts', 'cli.ts'],
];

const unitOf = (file: string) => path.relative(SRC, file).split(path.sep)[0]!;
const rankOf = (unit: string) => {
  const rank = LAYERS.findIndex((layer) => layer.includes(unit));
  if (rank < 0) throw new Error(`src/${unit} has no layer in test/architecture.test.ts`);
  return rank;
};

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'generated' ? [] : sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Every relative import of a file (static, dynamic, type-only, re-exports), as absolute .ts paths. */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specs.map((spec) => path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('the layout of src/', () => {
  test('folders import downwards only (schema → domain → auth/live/jobs → platform → db/config)', () => {
    const upward: string[] = [];
    for (const [file, imports] of graph) {
      const from = unitOf(file);
      for (const target of imports) {
        const to = unitOf(target);
        if (to !== from && rankOf(to) >= rankOf(from)) upward.push(`${path.relative(SRC, file)} → ${path.relative(SRC, target)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  test('no module imports itself back through others', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const next of graph.get(file) ?? []) {
        if (!graph.has(next)) continue;
        if (state.get(next) === 'open') cycles.push(stack.slice(stack.indexOf(next)).concat(next).map((f) => path.relative(SRC, f)).join(' → '));
        else if (!state.has(next)) visit(next);
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });

  test('every import names a file that exists', () => {
    const missing = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => !target.includes(`${path.sep}generated${path.sep}`) && !fs.existsSync(target)).map((t) => `${path.relative(SRC, file)} → ${t}`),
    );
    expect(missing).toEqual([]);
  });
});

test('src/schema writes nothing itself: every write and publish goes through a src/domain change', () => {
  const WRITE =
    /\b(?:db|tx|prisma)\s*\.\s*\w+\s*\.\s*(?:create|createMany|createManyAndReturn|update|updateMany|updateManyAndReturn|upsert|delete|deleteMany)\s*\(|\$executeRaw|\$transaction|\b(?:addJob|enqueueWebhook)\s*\(|\bbus\s*\.\s*publish\s*\(/g;
  // The pattern itself catches the forms resolvers used to write with.
  const samples = ['ctx.db.webhookEndpoint.update({', 'db.agent\n  .deleteMany({', 'tx.slaTarget.upsert({', 'db.$executeRaw`', 'bus.publish({', 'enqueueWebhook(ctx.db, job)'];
  expect(samples.filter((s) => !s.match(WRITE))).toEqual([]);
  const writes = sourceFiles(path.join(SRC, 'schema')).flatMap((file) => {
    const text = fs.readFileSync(file, 'utf8');
    return [...text.matchAll(WRITE)].map((m) => `${path.relative(SRC, file)}:${text.slice(0, m.index).split('\n').length}: ${m[0].replace(/\s+/g, '')}`);
  });
  expect(writes).toEqual([]);
});
