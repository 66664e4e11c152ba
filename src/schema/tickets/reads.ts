// The reads that consoles make most, in one hand-written, prepared statement each: a page
// of the tickets list, and a ticket with a page of its thread, selecting columns and whole
// customer, assignee and author rows. Prisma answers the same for more CPU (its query
// plan, and the mapping of each row and relation); any other selection (a relation's
// relations, counts, attachments) goes through Prisma. test/ticket-reads.test.ts checks
// that both answer the same.
import { isDeepStrictEqual } from 'node:util';
import { visibleMessages, visibleMessagesSql, visibleTicketsSql } from '../../auth/visibility.js';
import type { Viewer } from '../../auth/viewer.js';
import { queryPrepared, selectionReadName, type Db } from '../../db.js';
import { isTicketColumn, ticketColumns } from '../../domain/tickets.js';
import { Prisma, type Ticket } from '../../generated/prisma/client.js';
import { conditionsSql, type SearchFilter, type sortColumn } from './search.js';

/** A model's fields as columns of its table (enums cast to text, as Prisma answers them). */
type Columns = Record<string, string>;

// Every column of each model (a relation read as `true` is its whole row).
const CUSTOMER: Columns = {
  id: 'id', teamId: 'team_id', name: 'name', email: 'email', createdAt: 'created_at', updatedAt: 'updated_at',
} satisfies Record<Prisma.CustomerScalarFieldEnum, string>;
const AGENT: Columns = {
  id: 'id', teamId: 'team_id', name: 'name', email: 'email', role: 'role::text', avatarUrl: 'avatar_url', createdAt: 'created_at', updatedAt: 'updated_at',
} satisfies Record<Prisma.AgentScalarFieldEnum, string>;
const MESSAGE: Columns = {
  id: 'id', ticketId: 'ticket_id', sender: 'sender::text', authorAgentId: 'author_agent_id', authorCustomerId: 'author_customer_id',
  senderName: 'sender_name', senderAvatarUrl: 'sender_avatar_url', body: 'body', isInternal: 'is_internal', createdAt: 'created_at', teamId: 'team_id',
} satisfies Record<Prisma.MessageScalarFieldEnum, string>;

/** A to-one relation these statements join: the related table, its columns, and the key column of the parent. */
type ToOne = { table: string; columns: Columns; key: string };

const TICKET_RELATIONS: Record<string, ToOne> = {
  customer: { table: 'customers', columns: CUSTOMER, key: 'customer_id' },
  assignee: { table: 'agents', columns: AGENT, key: 'assignee_id' },
};
const MESSAGE_RELATIONS: Record<string, ToOne> = {
  authorAgent: { table: 'agents', columns: AGENT, key: 'author_agent_id' },
  authorCustomer: { table: 'customers', columns: CUSTOMER, key: 'author_customer_id' },
};

/** What plugin-prisma asks of a list or a relation: its page and selection. */
export type PageQuery = { take?: number; skip?: number; cursor?: { id?: string }; select?: Record<string, unknown>; include?: unknown };

/** What a statement reads of a row: its columns, and to-one relations as whole rows. */
type Selection<Field extends string = string> = { fields: Field[]; relations: string[] };

/**
 * The columns and whole relations that `select` asks for (plugin-prisma selects a
 * relation as `true` when its own fields need nothing but columns), when that is all
 * it asks for; the keys named in `rest` are handed back there. Undefined otherwise.
 * Both in alphabetical order: the statement's text follows the selection, not the order
 * of the operation's fields.
 */
function selectionOf<Field extends string>(
  select: Record<string, unknown> | undefined,
  isColumn: (field: string) => field is Field,
  relations: Record<string, ToOne>,
  rest: Record<string, unknown> = {},
): Selection<Field> | undefined {
  if (select === undefined) return undefined;
  const selection: Selection<Field> = { fields: [], relations: [] };
  for (const [field, value] of Object.entries(select)) {
    if (value === true && isColumn(field)) selection.fields.push(field);
    else if (value === true && Object.hasOwn(relations, field)) selection.relations.push(field);
    else if (Object.hasOwn(rest, field)) rest[field] = value;
    else return undefined;
  }
  selection.fields.sort();
  selection.relations.sort();
  return selection;
}

const isColumnOf = (columns: Columns) => (field: string): field is string => Object.hasOwn(columns, field);

/** The selected relations of the row `alias`, as columns `"<prefix><relation>.<field>"`, and their joins. */
function relationsSql(alias: string, prefix: string, names: string[], relations: Record<string, ToOne>) {
  const columns: string[] = [];
  const joins: string[] = [];
  names.forEach((name, i) => {
    const { table, columns: fields, key } = relations[name]!;
    const as = `${alias}_${i}`;
    joins.push(`LEFT JOIN ${table} ${as} ON ${as}.id = ${alias}.${key}`);
    for (const [field, column] of Object.entries(fields)) columns.push(`${as}.${column} AS "${prefix}${name}.${field}"`);
  });
  return { columns, joins };
}

/** The row's object, as Prisma nests it: its fields, and each relation (null when it has none). */
function pick(row: Record<string, unknown>, prefix: string, { fields, relations }: Selection, to: Record<string, ToOne>) {
  const object: Record<string, unknown> = {};
  for (const field of fields) object[field] = row[prefix + field];
  for (const name of relations) {
    const at = `${prefix}${name}.`;
    if (row[`${at}id`] === null) {
      object[name] = null;
      continue;
    }
    const related: Record<string, unknown> = {};
    for (const field in to[name]!.columns) related[field] = row[at + field];
    object[name] = related;
  }
  return object;
}

/** The keys of a page's query these statements answer (plugin-prisma's paging and selection). */
const PAGE_KEYS = new Set(['take', 'skip', 'cursor', 'select']);

/** Whether the query asks for nothing but a page (a size, maybe a cursor) and a selection. */
const isPage = (query: Record<string, unknown>): query is PageQuery & { take: number } =>
  typeof query.take === 'number' && Object.keys(query).every((key) => PAGE_KEYS.has(key));

/**
 * The order of a page of `alias` (a row of `table`), read backwards for a negative
 * `take` (then reversed), and the condition of its cursor: the row the page starts from
 * is included (but for `skip`). A relation's page starts only from a row of the
 * relation (`cursorWhere`, over `alias`), as Prisma's does.
 */
function pageSql(alias: string, table: string, column: string, descending: boolean, query: PageQuery & { take: number }, cursorWhere = Prisma.empty) {
  const { take, skip = 0, cursor } = query;
  const direction = descending !== take < 0 ? 'DESC' : 'ASC';
  const columns = Prisma.raw(`${alias}.${column}, ${alias}.id`);
  const from =
    cursor?.id === undefined
      ? undefined
      : Prisma.sql`(${columns}) ${Prisma.raw(direction === 'DESC' ? '<=' : '>=')}
          (SELECT ${columns} FROM ${Prisma.raw(`${table} ${alias}`)} WHERE ${Prisma.raw(alias)}.id = ${cursor.id}::uuid ${cursorWhere})`;
  const order = Prisma.raw(`${alias}.${column} ${direction}, ${alias}.id ${direction}`);
  return { from, order, limit: Prisma.sql`LIMIT ${Math.abs(take)} OFFSET ${skip}`, backwards: take < 0 };
}

/** The sort column of the list (search.ts' sortColumn; the ID breaks ties). */
export type ListOrder = { column: ReturnType<typeof sortColumn>; direction: 'asc' | 'desc' };

/**
 * The page of tickets the viewer may see that match the filter, in Prisma's answer to
 * `findMany({ ...query, where, orderBy: [{ column: direction }, { id: direction }] })`:
 * the selected columns of the ticket and its selected relations. Undefined when the
 * selection needs Prisma.
 */
export async function ticketPage(db: Db, viewer: Viewer, filter: SearchFilter, order: ListOrder, query: PageQuery) {
  if (!isPage(query)) return undefined;
  const selection = selectionOf(query.select, isTicketColumn, TICKET_RELATIONS);
  if (!selection) return undefined;
  const page = pageSql('t', 'tickets', order.column, order.direction === 'desc', query);
  const where = conditionsSql(viewer, filter);
  if (page.from) where.push(page.from);
  const related = relationsSql('t', '', selection.relations, TICKET_RELATIONS);
  const rows = await queryPrepared<Record<string, unknown>>(
    db,
    Prisma.sql`SELECT ${Prisma.raw([ticketColumns(selection.fields).text, ...related.columns].filter(Boolean).join(', '))}
      FROM tickets t ${Prisma.raw(related.joins.join(' '))}
      WHERE ${Prisma.join(where, ' AND ')} ORDER BY ${page.order} ${page.limit}`,
    selectionReadName,
  );
  const tickets = selection.relations.length ? rows.map((row) => pick(row, '', selection, TICKET_RELATIONS)) : rows;
  return page.backwards ? tickets.reverse() : tickets;
}

/** The thread's order, which Ticket.messages gives plugin-prisma. */
const THREAD_ORDER = [{ createdAt: 'asc' }, { id: 'asc' }];

/**
 * The ticket `id` as the viewer may see it, with the page of its thread the query
 * selects, in Prisma's answer to `findFirst({ ...query, where: { id, AND: [visible] } })`:
 * `{ ticket }`, with an undefined ticket when the viewer may not see it. Undefined when
 * the selection needs Prisma (anything but columns, whole customer, assignee and author
 * rows, and the thread as Ticket.messages asks for it).
 */
export async function ticketWithThread(db: Db, viewer: Viewer, id: string, query: PageQuery): Promise<{ ticket: Ticket | undefined } | undefined> {
  const rest: { messages?: unknown } = { messages: undefined };
  const selection = Object.keys(query).every((key) => key === 'select') ? selectionOf(query.select, isTicketColumn, TICKET_RELATIONS, rest) : undefined;
  const { messages: thread } = rest;
  if (!selection || typeof thread !== 'object' || thread === null) return undefined;
  const { where, orderBy, ...page } = thread as Record<string, unknown>;
  // Ticket.messages asks for the messages the viewer may see, in the thread's order; the
  // statement reads them by visibleMessagesSql, visibleMessages' rule in SQL.
  if (!isPage(page) || !isDeepStrictEqual(where, visibleMessages(viewer)) || !isDeepStrictEqual(orderBy, THREAD_ORDER)) return undefined;
  const messages = selectionOf(page.select, isColumnOf(MESSAGE), MESSAGE_RELATIONS);
  if (!messages) return undefined;

  const inThread = Prisma.sql`AND m.ticket_id = t.id AND ${visibleMessagesSql(viewer)}`;
  const paged = pageSql('m', 'messages', 'created_at', false, page, inThread);
  const related = relationsSql('t', '', selection.relations, TICKET_RELATIONS);
  const authors = relationsSql('m', 'm.', messages.relations, MESSAGE_RELATIONS);
  const columns = [
    ticketColumns(selection.fields).text,
    ...related.columns,
    // The ID tells whether the page has any message.
    ...(messages.fields.includes('id') ? [] : ['m.id AS "m.id"']),
    ...messages.fields.map((field) => `m.${MESSAGE[field]} AS "m.${field}"`),
    ...authors.columns,
  ];
  const rows = await queryPrepared<Record<string, unknown>>(
    db,
    Prisma.sql`SELECT ${Prisma.raw(columns.filter(Boolean).join(', '))}
      FROM tickets t ${Prisma.raw(related.joins.join(' '))}
      LEFT JOIN LATERAL (
        SELECT * FROM messages m
        WHERE true ${inThread} ${paged.from ? Prisma.sql`AND ${paged.from}` : Prisma.empty}
        ORDER BY ${paged.order} ${paged.limit}) m ON true
      ${Prisma.raw(authors.joins.join(' '))}
      WHERE t.id = ${id}::uuid AND ${visibleTicketsSql(viewer, 't')}
      ORDER BY ${paged.order}`,
    selectionReadName,
  );
  const [first] = rows;
  if (!first) return { ticket: undefined };
  // The selected fields only, as Prisma's answer has them: resolvers read what they select.
  const ticket = pick(first, '', selection, TICKET_RELATIONS);
  const found = first['m.id'] === null ? [] : rows.map((row) => pick(row, 'm.', messages, MESSAGE_RELATIONS));
  ticket.messages = paged.backwards ? found.reverse() : found;
  return { ticket: ticket as unknown as Ticket };
}
