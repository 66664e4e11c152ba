// A page of the tickets list in one hand-written, prepared statement, for the selections
// that consoles make most: the ticket's own fields with its customer and assignee. Prisma
// answers the same page for about 1.5 times the CPU (its query plan, and the mapping of
// each row and relation); every other selection (a thread, a relation's relations) goes
// through Prisma. test/ticket-page.test.ts checks that both answer the same.
import type { Viewer } from '../../auth/viewer.js';
import { queryPrepared, type Db } from '../../db.js';
import { isTicketColumn, ticketColumns, type TicketField } from '../../domain/tickets.js';
import { Prisma } from '../../generated/prisma/client.js';
import { conditionsSql, type SearchFilter } from './search.js';

/** A to-one relation of the ticket this statement joins: its table, key, and columns in field names. */
type Relation = { join: Prisma.Sql; key: 'customerId' | 'assigneeId'; columns: Record<string, string> };

const RELATIONS: Record<'customer' | 'assignee', Relation> = {
  customer: {
    join: Prisma.raw('LEFT JOIN customers c ON c.id = t.customer_id'),
    key: 'customerId',
    columns: { id: 'c.id', teamId: 'c.team_id', name: 'c.name', email: 'c.email', createdAt: 'c.created_at', updatedAt: 'c.updated_at' },
  },
  assignee: {
    join: Prisma.raw('LEFT JOIN agents a ON a.id = t.assignee_id'),
    key: 'assigneeId',
    columns: {
      id: 'a.id', teamId: 'a.team_id', name: 'a.name', email: 'a.email', role: 'a.role::text', avatarUrl: 'a.avatar_url',
      createdAt: 'a.created_at', updatedAt: 'a.updated_at',
    },
  },
};

/** The relation's columns as `"customer.name"` and so on: the row is split after reading. */
const RELATION_COLUMNS = Object.fromEntries(
  Object.entries(RELATIONS).map(([name, { columns }]) => [
    name,
    Prisma.raw(Object.entries(columns).map(([field, column]) => `${column} AS "${name}.${field}"`).join(', ')),
  ]),
) as Record<keyof typeof RELATIONS, Prisma.Sql>;

/** What plugin-prisma asks of a page: its size, cursor and selection. */
export type PageQuery = { take?: number; skip?: number; cursor?: { id?: string }; select?: Record<string, unknown>; include?: unknown };

/** The sort column of the list (a column of `tickets`, sorted with the ID as tiebreaker). */
export type ListOrder = { column: 'created_at' | 'updated_at' | 'public_updated_at' | 'priority'; direction: 'asc' | 'desc' };

/** What this statement reads of a page: the ticket's columns, and relations as whole rows. */
type Selection = { fields: TicketField[]; relations: Array<keyof typeof RELATIONS> };

/**
 * What the page selects, when this statement can answer it: columns of the ticket, and
 * whole customer and assignee rows (plugin-prisma selects a relation as `true` when its
 * own fields need nothing but columns). Undefined otherwise.
 */
function selectionOf(query: PageQuery): Selection | undefined {
  if (query.include !== undefined || query.select === undefined) return undefined;
  const selection: Selection = { fields: [], relations: [] };
  for (const [field, value] of Object.entries(query.select)) {
    if (value !== true) return undefined;
    if (field === 'customer' || field === 'assignee') selection.relations.push(field);
    else if (isTicketColumn(field)) selection.fields.push(field);
    else return undefined;
  }
  return selection;
}

/**
 * The page of tickets the viewer may see that match the filter, in Prisma's answer to
 * `findMany({ ...query, where, orderBy: [{ column: direction }, { id: direction }] })`:
 * the selected columns of the ticket and its selected relations (null where the ticket
 * has none). Undefined when the selection needs Prisma.
 *
 * A cursor is the ID of a row the list starts from (included, but for `skip`); a
 * negative `take` reads that many rows before it, returned in the list's order.
 */
export async function ticketPage(db: Db, viewer: Viewer, filter: SearchFilter, order: ListOrder, query: PageQuery) {
  const selection = selectionOf(query);
  if (!selection) return undefined;
  const { fields, relations } = selection;
  const { take = 20, skip = 0, cursor } = query;
  const backwards = take < 0;
  // Read backwards in the opposite order, then reverse.
  const direction = (order.direction === 'desc') !== backwards ? 'DESC' : 'ASC';
  const where = conditionsSql(viewer, filter);
  if (cursor?.id !== undefined) {
    const from = Prisma.raw(`(t.${order.column}, t.id) ${direction === 'DESC' ? '<=' : '>='}`);
    where.push(Prisma.sql`${from} (SELECT x.${Prisma.raw(order.column)}, x.id FROM tickets x WHERE x.id = ${cursor.id}::uuid)`);
  }
  // A relation's key tells a ticket without one (its columns are null then).
  const keys = relations.map((name) => RELATIONS[name].key).filter((key) => !fields.includes(key));
  const columns = [ticketColumns([...fields, ...keys]), ...relations.map((name) => RELATION_COLUMNS[name])];
  const joins = relations.map((name) => RELATIONS[name].join);
  const rows = await queryPrepared<Record<string, unknown>>(
    db,
    Prisma.sql`SELECT ${Prisma.join(columns)} FROM tickets t ${joins.length ? Prisma.join(joins, ' ') : Prisma.empty}
      WHERE ${Prisma.join(where, ' AND ')}
      ORDER BY t.${Prisma.raw(order.column)} ${Prisma.raw(direction)}, t.id ${Prisma.raw(direction)}
      LIMIT ${Math.abs(take)} OFFSET ${skip}`,
  );
  const page = relations.length ? rows.map((row) => split(row, fields, relations)) : rows;
  return backwards ? page.reverse() : page;
}

/** The row with its relations' columns as objects of their own, as Prisma nests them. */
function split(row: Record<string, unknown>, fields: TicketField[], relations: Array<keyof typeof RELATIONS>) {
  const ticket: Record<string, unknown> = {};
  for (const field of fields) ticket[field] = row[field];
  for (const name of relations) {
    const { key, columns } = RELATIONS[name];
    if (row[key] === null) {
      ticket[name] = null;
      continue;
    }
    const related: Record<string, unknown> = {};
    for (const field in columns) related[field] = row[`${name}.${field}`];
    ticket[name] = related;
  }
  return ticket;
}
