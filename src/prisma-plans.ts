// Prisma 6.19 compiles every query anew in its WebAssembly query compiler (about
// 0.5 ms of CPU for a findFirst here, the largest single cost of a small request;
// see BENCHMARKS.md). Its compiler already accepts parameter placeholders
// ({"$type":"Param"}) and leaves them in the plan for its interpreter, so a plan
// compiled once for a query's shape, with placeholders where the query's values
// were, can serve every later query of that shape once the values are filled in.
// Prisma 7 does this itself; 7.x cannot run here (see the README on Prisma).
//
// The hook is the compiler's `compile(json) → plan`, the one call between the
// client runtime and the compiler. It is guarded:
// - it is installed only on the pinned Prisma version, whose plan format it knows;
// - placeholders go only where they were checked to compile: scalar equalities of
//   `where` (and its AND/OR/NOT) and `cursor`, scalar values of `data`, at the top
//   of a query and of each nested selection. Anything else (lists, operators,
//   orderBy, take, null) stays a literal and so part of the shape;
// - a shape is trusted only when its placeholder plan, filled in with the values of
//   a real query, equals that query's own plan (checked on its second sighting, so
//   queries seen once cost nothing extra), and is checked again every
//   RECHECK_EVERY uses; a mismatch or any error distrusts the shape for good;
// - on any doubt the query goes through the normal path.
// Raw statements ($queryRaw, $executeRaw: the hand-written hot statements) are cached
// the same way by their SQL and the kinds of their parameters, with the same guard.
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
// @ts-expect-error: Prisma ships no type declarations for the compiler's glue module.
import { QueryCompiler as UntypedQueryCompiler } from '@prisma/client/runtime/query_compiler_bg.postgresql.mjs';
import { LRUCache } from 'lru-cache';

/** The Prisma version whose compiler input and plan format this was written against. */
export const PINNED_PRISMA_VERSION = '6.19.3';
const RECHECK_EVERY = 500;
const SHAPES_PER_COMPILER = 1_000;
const PARAM_PREFIX = 'tqlp';

type Compile = (json: string) => unknown;
const QueryCompiler = UntypedQueryCompiler as { prototype: object };
type Shape = { state: 'seen'; plan?: unknown } | { state: 'untrusted' } | { state: 'trusted'; plan: unknown; uses: number };

/** Counters, for tests and the benchmarks. */
export const planCacheStats = { hits: 0, compiled: 0, trusted: 0, distrusted: 0 };

let enabled = true;
/** Turns the cache off and on for this process (tests compare both paths). */
export function setPlanCacheEnabled(on: boolean): void {
  enabled = on;
}

type Parameterized = { shape: string; values: Map<string, unknown> };

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The shape of a JSON-protocol query (the query with placeholders, as JSON) and the
 * values taken out of it; undefined when the query is not one to cache.
 */
export function parameterize(json: string): Parameterized | undefined {
  // A query that carries placeholders of its own is left alone.
  if (json.includes('"$type":"Param"')) return undefined;
  let query: unknown;
  try {
    query = JSON.parse(json);
  } catch {
    return undefined;
  }
  if (!isObject(query) || typeof query.action !== 'string' || !isObject(query.query)) return undefined;
  const values = new Map<string, unknown>();
  const take = (value: unknown) => {
    const name = `${PARAM_PREFIX}${values.size}`;
    values.set(name, value);
    return { $type: 'Param', value: name };
  };
  const where = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) where(item);
      return;
    }
    if (!isObject(node) || '$type' in node) return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'AND' || key === 'OR' || key === 'NOT') where(value);
      else if (typeof value === 'string') node[key] = take(value);
    }
  };
  const data = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const item of node) data(item);
      return;
    }
    if (!isObject(node) || '$type' in node) return;
    for (const [key, value] of Object.entries(node)) {
      if (typeof value === 'string') node[key] = take(value);
      // The plan carries a DateTime as its ISO string (the guard checks it).
      else if (isObject(value) && value.$type === 'DateTime' && typeof value.value === 'string') node[key] = take(value.value);
    }
  };
  const selection = (node: unknown): void => {
    if (!isObject(node)) return;
    const args = node.arguments;
    if (isObject(args)) {
      where(args.where);
      where(args.cursor);
      data(args.data);
      data(args.create);
      data(args.update);
    }
    if (isObject(node.selection)) for (const nested of Object.values(node.selection)) selection(nested);
  };
  selection(query.query);
  return { shape: JSON.stringify(query), values };
}

/** A copy of a plan with the placeholders of `values` replaced by their values. */
export function fillPlan(node: unknown, values: Map<string, unknown>): unknown {
  if (Array.isArray(node)) return node.map((item) => fillPlan(item, values));
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  if (record.prisma__type === 'param') {
    const name = (record.prisma__value as { name?: unknown } | undefined)?.name;
    if (typeof name === 'string' && values.has(name)) return values.get(name);
  }
  // Only plain objects are copied; anything else makes the guard's comparison fail.
  if (Object.getPrototypeOf(node) !== Object.prototype) return node;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(record)) out[key] = fillPlan(record[key], values);
  return out;
}

/**
 * A raw statement's shape: its SQL and the kinds of its parameters (which decide the
 * plan's argument types), and its parameters as the plan carries them (a date as its
 * ISO string). Undefined for parameters of other kinds (JSON objects, bytes, decimals):
 * those compile every time.
 */
export function rawShape(json: string): { shape: string; args: unknown[] } | undefined {
  if (!json.startsWith('{"action":"queryRaw"') && !json.startsWith('{"action":"executeRaw"')) return undefined;
  let request: { action: string; query?: { arguments?: { query?: unknown; parameters?: unknown } } };
  let parameters: unknown;
  try {
    request = JSON.parse(json);
    parameters = JSON.parse(String(request.query?.arguments?.parameters));
  } catch {
    return undefined;
  }
  const sql = request.query?.arguments?.query;
  if (typeof sql !== 'string' || !Array.isArray(parameters)) return undefined;
  const scalarKind = (v: unknown): string | undefined => {
    if (v === null) return 'null';
    if (typeof v === 'string') return 'string';
    if (typeof v === 'boolean') return 'boolean';
    if (typeof v === 'number') return Number.isInteger(v) ? (Math.abs(v) <= 2 ** 31 - 1 ? 'int' : 'bigint') : 'float';
    if (isObject(v) && v.prisma__type === 'date' && typeof v.prisma__value === 'string' && Object.keys(v).length === 2) return 'date';
    return undefined;
  };
  const kinds: string[] = [];
  const args: unknown[] = [];
  for (const p of parameters) {
    const kind = Array.isArray(p) ? (p.length > 0 && p.every((e) => typeof e === 'string') ? 'strings' : undefined) : scalarKind(p);
    if (!kind) return undefined;
    kinds.push(kind);
    args.push(kind === 'date' ? (p as { prisma__value: string }).prisma__value : p);
  }
  return { shape: JSON.stringify([request.action, sql, kinds]), args };
}

/** A raw statement's cached plan with its own arguments. */
function fillRawPlan(plan: unknown, args: unknown[]): unknown {
  const p = plan as { args?: Record<string, unknown> };
  return { ...p, args: { ...p.args, args } };
}

/** `compile` with plans cached by shape, for one compiler (one client, one data model). */
export function cachingCompile(original: Compile): Compile {
  const shapes = new LRUCache<string, Shape>({ max: SHAPES_PER_COMPILER });
  const raw = (json: string, statement: { shape: string; args: unknown[] }) => {
    const shape = shapes.get(statement.shape);
    if (shape?.state === 'trusted' && ++shape.uses % RECHECK_EVERY !== 0) {
      planCacheStats.hits++;
      return fillRawPlan(shape.plan, statement.args);
    }
    planCacheStats.compiled++;
    const literal = original(json);
    if (!shape) shapes.set(statement.shape, { state: 'seen', plan: literal });
    else if (shape.state !== 'untrusted') {
      // Trusted when an earlier statement's plan of the shape, filled in with this one's
      // arguments, is exactly this one's plan: on the second sighting and every recheck.
      if (!isDeepStrictEqual(fillRawPlan(shape.plan, statement.args), literal)) {
        shapes.set(statement.shape, { state: 'untrusted' });
        planCacheStats.distrusted++;
      } else if (shape.state === 'seen') {
        shapes.set(statement.shape, { state: 'trusted', plan: literal, uses: 0 });
        planCacheStats.trusted++;
      }
    }
    return literal;
  };
  return (json) => {
    const statement = enabled ? rawShape(json) : undefined;
    if (statement) return raw(json, statement);
    const query = enabled ? parameterize(json) : undefined;
    if (!query) return original(json);
    const shape = shapes.get(query.shape);
    if (shape?.state === 'trusted' && ++shape.uses % RECHECK_EVERY !== 0) {
      planCacheStats.hits++;
      return fillPlan(shape.plan, query.values);
    }
    planCacheStats.compiled++;
    if (!shape) {
      shapes.set(query.shape, { state: 'seen' });
      return original(json);
    }
    if (shape.state === 'untrusted') return original(json);
    // Second sighting, or a recheck: the query's own plan, and the shape's to compare.
    const literal = original(json);
    try {
      const plan = original(query.shape);
      if (!isDeepStrictEqual(fillPlan(plan, query.values), literal)) throw new Error('plans differ');
      if (shape.state === 'seen') {
        shapes.set(query.shape, { state: 'trusted', plan, uses: 0 });
        planCacheStats.trusted++;
      }
    } catch {
      shapes.set(query.shape, { state: 'untrusted' });
      planCacheStats.distrusted++;
    }
    return literal;
  };
}

const compilers = new WeakMap<object, Compile>();
const installed = Symbol('ticketql plan cache');

/**
 * Caches plans for every Prisma client of this process; false when the installed
 * Prisma is not the pinned version (queries then compile as before).
 */
export function installPlanCache(): boolean {
  const prototype = QueryCompiler.prototype as { compile: Compile; [installed]?: true };
  if (prototype[installed]) return true;
  const version = createRequire(import.meta.url)('@prisma/client/package.json').version;
  if (version !== PINNED_PRISMA_VERSION || typeof prototype.compile !== 'function') return false;
  const original = prototype.compile;
  prototype.compile = function (this: object, json: string) {
    let compile = compilers.get(this);
    if (!compile) compilers.set(this, (compile = cachingCompile(original.bind(this))));
    return compile(json);
  };
  prototype[installed] = true;
  return true;
}
