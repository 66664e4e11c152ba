// Query plans cached by shape (src/prisma-plans.ts): a cached plan answers exactly
// what Prisma's own plan for the query answers, for every value, and a shape whose
// placeholder plan does not fill in to the query's own plan is never used.
import { createRequire } from 'node:module';
import { afterEach, describe, expect } from 'vitest';
import type { Db } from '../src/db.js';
import { cachingCompile, installPlanCache, PINNED_PRISMA_VERSION, parameterize, planCacheStats, rawShape, setPlanCacheEnabled } from '../src/prisma-plans.js';
import { test } from './support/fixtures.js';

afterEach(() => setPlanCacheEnabled(true));

/** Queries of the shapes the server runs, each a function of one ticket and its team. */
function queries(db: Db) {
  return {
    byIdInTeam: (t: { id: string; teamId: string }) =>
      db.ticket.findFirst({ where: { id: t.id, AND: [{ teamId: t.teamId }] }, select: { id: true, title: true, status: true, createdAt: true } }),
    lastMessages: (t: { id: string; teamId: string }) =>
      db.ticket.findFirst({
        where: { id: t.id, teamId: t.teamId },
        select: { title: true, messages: { where: { isInternal: false }, orderBy: { createdAt: 'asc' }, take: -2, select: { body: true } } },
      }),
    firstMessages: (t: { id: string; teamId: string }) =>
      db.message.findMany({ where: { ticketId: t.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: 2, select: { body: true } }),
    afterCursor: async (t: { id: string; teamId: string }) => {
      const first = await db.message.findFirst({ where: { ticketId: t.id }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], select: { id: true } });
      return db.message.findMany({
        where: { ticketId: t.id },
        cursor: { id: first!.id },
        skip: 1,
        orderBy: [{ createdAt: 'asc' }, { id: 'asc' }],
        select: { body: true },
      });
    },
    withCustomer: (t: { id: string; teamId: string }) =>
      db.ticket.findMany({ where: { teamId: t.teamId, OR: [{ id: t.id }, { title: 'no such title' }] }, select: { title: true, customer: { select: { email: true } } } }),
  };
}

async function ticketWithThread(db: Db, teamId: string, customerId: string, title: string) {
  const ticket = await db.ticket.create({
    data: { teamId, customerId, number: Math.floor(Math.random() * 1e9), title },
    select: { id: true, teamId: true },
  });
  // Explicit times, a second apart, so that every order below is the one written here.
  let second = 0;
  const at = () => new Date(Date.UTC(2026, 0, 1, 0, 0, second++));
  for (const body of ['one', 'two', 'three']) {
    await db.message.create({ data: { ticketId: ticket.id, body: `${title}: ${body}`, sender: 'CUSTOMER', authorCustomerId: customerId, createdAt: at() } });
    await db.message.create({ data: { ticketId: ticket.id, body: `${title}: ${body} (internal)`, sender: 'AGENT', isInternal: true, createdAt: at() } });
  }
  return ticket;
}

describe('query plans cached by shape', () => {
  test('is installed on the pinned Prisma version', () => {
    const installed = createRequire(import.meta.url)('@prisma/client/package.json').version;
    expect(installed).toBe(PINNED_PRISMA_VERSION);
    expect(installPlanCache()).toBe(true);
  });

  test('cached plans answer what each query answers without the cache, for every value, and never another team’s rows', async ({ app: { db }, team, otherTeam }) => {
    const tickets = [
      await ticketWithThread(db, team.team.id, team.customer.id, 'Alpha'),
      await ticketWithThread(db, team.team.id, team.customer.id, 'Beta'),
      await ticketWithThread(db, otherTeam.team.id, otherTeam.customer.id, 'Gamma'),
      // Another team's ticket asked for with this team's id: nothing, whatever was cached.
      { id: (await ticketWithThread(db, otherTeam.team.id, otherTeam.customer.id, 'Delta')).id, teamId: team.team.id },
    ];
    const run = async () => {
      const answers: Record<string, unknown[]> = {};
      // Each shape three times over, so that it is seen, checked, then served from the cache.
      for (let round = 0; round < 3; round++) {
        for (const [name, query] of Object.entries(queries(db))) {
          for (const ticket of tickets) (answers[`${name} ${round}`] ??= []).push(await query(ticket));
        }
      }
      return answers;
    };
    setPlanCacheEnabled(false);
    const uncached = await run();
    setPlanCacheEnabled(true);
    const hits = planCacheStats.hits;
    const cached = await run();
    expect(planCacheStats.hits - hits).toBeGreaterThan(20);
    expect(cached).toEqual(uncached);
    // The answers are the right ones, not merely the same ones.
    expect(cached['byIdInTeam 2']!.map((t) => (t as { title: string } | null)?.title ?? null)).toEqual(['Alpha', 'Beta', 'Gamma', null]);
    expect(cached['lastMessages 2']![0]).toEqual({ title: 'Alpha', messages: [{ body: 'Alpha: two' }, { body: 'Alpha: three' }] });
    expect(cached['firstMessages 2']![1]).toEqual([{ body: 'Beta: one' }, { body: 'Beta: one (internal)' }]);
    expect(cached['withCustomer 2']![3]).toEqual([]);
  });

  test('writes through cached plans store each call’s own values', async ({ app: { db }, team }) => {
    const ticket = await ticketWithThread(db, team.team.id, team.customer.id, 'Writes');
    const bodies = ['first', 'second', 'third', 'fourth'];
    const hits = planCacheStats.hits;
    for (const body of bodies) {
      const createdAt = new Date(Date.UTC(2026, 1, 1, 0, 0, bodies.indexOf(body)));
      await db.message.create({ data: { ticketId: ticket.id, body, sender: 'AGENT', isInternal: false, createdAt }, select: { id: true } });
      await db.ticket.update({ where: { id: ticket.id }, data: { title: `Now ${body}`, updatedAt: new Date(`2026-01-0${bodies.indexOf(body) + 1}T00:00:00Z`) }, select: { id: true } });
    }
    expect(planCacheStats.hits - hits).toBeGreaterThan(0);
    const stored = await db.message.findMany({ where: { ticketId: ticket.id, body: { in: bodies } }, orderBy: { createdAt: 'asc' }, select: { body: true } });
    expect(stored.map((m) => m.body)).toEqual(bodies);
    expect(await db.ticket.findUniqueOrThrow({ where: { id: ticket.id }, select: { title: true, updatedAt: true } })).toEqual({
      title: 'Now fourth',
      updatedAt: new Date('2026-01-04T00:00:00Z'),
    });
  });
});

describe('the guard', () => {
  const query = (id: string) => JSON.stringify({ modelName: 'Ticket', action: 'findFirst', query: { arguments: { where: { id } }, selection: { id: true } } });

  test('values go to placeholders only in equalities and data; operators, lists, null and take stay in the shape', () => {
    const json = JSON.stringify({
      modelName: 'Ticket',
      action: 'findMany',
      query: {
        arguments: { where: { teamId: 't', status: { in: ['OPEN'] }, title: { contains: 'x' }, assigneeId: null, AND: [{ id: 'i' }] }, take: -5, orderBy: [{ createdAt: 'desc' }] },
        selection: { id: true, messages: { arguments: { where: { ticketId: 'm' } }, selection: { body: true } } },
      },
    });
    const { shape, values } = parameterize(json)!;
    expect([...values.values()]).toEqual(['t', 'i', 'm']);
    expect(JSON.parse(shape).query.arguments).toEqual({
      where: { teamId: { $type: 'Param', value: 'tqlp0' }, status: { in: ['OPEN'] }, title: { contains: 'x' }, assigneeId: null, AND: [{ id: { $type: 'Param', value: 'tqlp1' } }] },
      take: -5,
      orderBy: [{ createdAt: 'desc' }],
    });
  });

  test('a shape whose placeholder plan differs from the query’s own plan is never served from the cache', () => {
    // A compiler that writes the value into the plan itself: no placeholder plan can match.
    const compile = cachingCompile((json) => ({ sql: `SELECT … WHERE id = '${JSON.parse(json).query.arguments.where.id.value ?? JSON.parse(json).query.arguments.where.id}'` }));
    const hits = planCacheStats.hits;
    for (const id of ['a', 'b', 'c', 'd']) expect(compile(query(id))).toEqual({ sql: `SELECT … WHERE id = '${id}'` });
    expect(planCacheStats.hits).toBe(hits);
  });

  test('a compiler error on the placeholder query leaves the shape to the normal path', () => {
    const compile = cachingCompile((json) => {
      if (json.includes('"$type":"Param"')) throw new Error('unreachable');
      return { args: [JSON.parse(json).query.arguments.where.id] };
    });
    for (const id of ['a', 'b', 'c']) expect(compile(query(id))).toEqual({ args: [id] });
  });

  test('a matching shape is served with each query’s values', () => {
    const compile = cachingCompile((json) => {
      const id = JSON.parse(json).query.arguments.where.id;
      return { type: 'query', args: [typeof id === 'string' ? id : { prisma__type: 'param', prisma__value: { name: id.value, type: 'String' } }] };
    });
    const hits = planCacheStats.hits;
    for (const id of ['a', 'b', 'c', 'd']) expect(compile(query(id))).toEqual({ type: 'query', args: [id] });
    expect(planCacheStats.hits - hits).toBe(2);
  });
});

describe('raw statements cached by their SQL and the kinds of their parameters', () => {
  const rawJson = (params: unknown[]) =>
    JSON.stringify({ action: 'queryRaw', query: { arguments: { query: 'SELECT $1::text, $2, $3::int', parameters: JSON.stringify(params) }, selection: {} } });
  const date = (iso: string) => ({ prisma__type: 'date', prisma__value: iso });

  test('answer what the same statements answer without the cache, for every value', async ({ app: { db }, team }) => {
    const run = (title: string, at: Date, n: number | null) =>
      db.$queryRaw<Array<{ title: string; at: Date; n: number | null; team: string }>>`
        SELECT ${title}::text AS title, ${at}::timestamptz AS at, ${n}::int AS n, (SELECT name FROM teams WHERE id = ${team.team.id}::uuid) AS team`;
    const cases: Array<[string, Date, number | null]> = [
      ['a', new Date('2026-01-01T00:00:00.000Z'), 1],
      ['b', new Date('2026-02-01T00:00:00.123Z'), 2],
      ['c', new Date('2026-03-01T00:00:00.000Z'), null],
      ['d', new Date('2026-04-01T00:00:00.000Z'), 4],
      ['e', new Date('2026-05-01T00:00:00.000Z'), 5],
    ];
    const hits = planCacheStats.hits;
    const cached = [];
    for (const c of cases) cached.push(await run(...c));
    expect(planCacheStats.hits).toBeGreaterThan(hits);
    setPlanCacheEnabled(false);
    const plain = [];
    for (const c of cases) plain.push(await run(...c));
    expect(cached).toEqual(plain);
    expect(cached.map(([row]) => [row!.title, row!.n])).toEqual([['a', 1], ['b', 2], ['c', null], ['d', 4], ['e', 5]]);
  });

  test('the kinds of the parameters are part of the shape; JSON objects are never cached', () => {
    expect(rawShape(rawJson(['a', 1, null]))!.shape).not.toBe(rawShape(rawJson(['a', 1.5, null]))!.shape);
    expect(rawShape(rawJson(['a', 1, null]))!.shape).not.toBe(rawShape(rawJson([null, 1, 'a']))!.shape);
    expect(rawShape(rawJson(['a', date('2026-01-01T00:00:00.000Z'), 3]))!.args).toEqual(['a', '2026-01-01T00:00:00.000Z', 3]);
    expect(rawShape(rawJson([{ a: 1 }, 1, 2]))).toBeUndefined();
    expect(rawShape(rawJson([[1, 2], 1, 2]))).toBeUndefined();
  });

  test('a raw shape whose plans differ from statement to statement is never served from the cache', () => {
    // A compiler that writes the first argument into the SQL: no earlier plan fills in to a later one.
    const compile = cachingCompile((json) => {
      const params = JSON.parse(JSON.parse(json).query.arguments.parameters);
      return { type: 'query', args: { type: 'rawSql', sql: `SELECT '${params[0]}'`, args: params } };
    });
    const hits = planCacheStats.hits;
    for (const v of ['a', 'b', 'c', 'd']) expect(compile(rawJson([v, 1, 2]))).toMatchObject({ args: { sql: `SELECT '${v}'`, args: [v, 1, 2] } });
    expect(planCacheStats.hits).toBe(hits);
  });
});
