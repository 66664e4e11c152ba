// Full-text search of tickets: titles, customers and message threads, in the team's
// text search configuration, ranked, with a highlighted snippet per hit. Prisma has no
// tsvector operators, so a search lists its page in SQL (the filter's other conditions
// included) and Prisma then reads the page's rows for the operation's selection.
import type { Viewer } from '../../auth/viewer.js';
import { visibleTicketsSql } from '../../auth/visibility.js';
import type { Db } from '../../db.js';
import { badInput, forbidden } from '../../errors.js';
import { Prisma } from '../../generated/prisma/client.js';
import type { TicketPriority, TicketStatus } from '../../generated/prisma/enums.js';
import { uuidOf } from '../common/global-ids.js';

export const MAX_SEARCH_LENGTH = 500;

export type SearchField = 'TITLE' | 'CUSTOMER' | 'PUBLIC_MESSAGES' | 'INTERNAL_MESSAGES';
export type MatchedIn = 'TITLE' | 'MESSAGE' | 'CUSTOMER';

/** The filter's fields, as TicketFilter gives them. */
export type SearchFilter = {
  status?: TicketStatus[] | null;
  priority?: TicketPriority[] | null;
  category?: string | null;
  tags?: string[] | null;
  assigneeId?: string | null;
  assignedToMe?: boolean | null;
  unassigned?: boolean | null;
  customerId?: string | null;
  search?: string | null;
  searchIn?: SearchField[] | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  updatedAfter?: Date | null;
  updatedBefore?: Date | null;
};

export type SearchOrder = { field: 'RELEVANCE' | 'CREATED_AT' | 'UPDATED_AT' | 'PRIORITY'; direction: 'asc' | 'desc' };

/** What a hit shows besides its ticket. */
export type Hit = { rank: number; matchedIn: MatchedIn; snippet: string; messageId: string | null };

/** The search text, checked: trimmed, at most 500 characters. */
export function searchText(filter: { search?: string | null } | null | undefined): string | undefined {
  const text = filter?.search?.trim();
  if (!text) return undefined;
  if (text.length > MAX_SEARCH_LENGTH) {
    throw badInput([{ path: 'filter.search', message: `must be at most ${MAX_SEARCH_LENGTH} characters` }]);
  }
  return text;
}

/**
 * What the viewer searches: customers search their tickets' titles, their own name
 * and email, and public messages, never internal notes (asking for them is FORBIDDEN).
 */
function fieldsOf(viewer: Viewer, searchIn: SearchField[] | null | undefined): Set<SearchField> {
  const customer = viewer.role === 'CUSTOMER';
  if (customer && searchIn?.includes('INTERNAL_MESSAGES')) throw forbidden('Internal notes are not searchable by customers');
  if (searchIn?.length === 0) throw badInput([{ path: 'filter.searchIn', message: 'must name at least one place to search' }]);
  const all: SearchField[] = customer ? ['TITLE', 'CUSTOMER', 'PUBLIC_MESSAGES'] : ['TITLE', 'CUSTOMER', 'PUBLIC_MESSAGES', 'INTERNAL_MESSAGES'];
  return new Set(searchIn ?? all);
}

/** A search: the text and the team's text search configuration. */
type Search = { text: string; config: string };

// The team's configuration, read once per request (a viewer is made per request).
const configs = new WeakMap<Viewer, Promise<string>>();

async function searchOf(db: Db, viewer: Viewer, text: string): Promise<Search> {
  let config = configs.get(viewer);
  if (!config) {
    config = db.team.findUnique({ where: { id: viewer.teamId ?? '' }, select: { searchConfig: true } }).then((t) => t?.searchConfig ?? 'simple');
    configs.set(viewer, config);
  }
  return { text, config: await config };
}

/**
 * The query as a value in each condition (not joined from a CTE, nor read by a
 * subquery): the planner sees one constant, and plans the GIN index scans quickly.
 */
const tsquery = ({ text, config }: Search) => Prisma.sql`websearch_to_tsquery(${config}::regconfig, ${text})`;

const likeOf = (text: string) => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

/**
 * The filter's conditions other than the search, over `tickets t` (queries.ts checks
 * that SearchFilter names every field of TicketFilter).
 */
function conditionsSql(viewer: Viewer, filter: SearchFilter): Prisma.Sql[] {
  const where: Prisma.Sql[] = [visibleTicketsSql(viewer, 't')];
  if (filter.status?.length) where.push(Prisma.sql`t.status::text IN (${Prisma.join(filter.status)})`);
  if (filter.priority?.length) where.push(Prisma.sql`t.priority::text IN (${Prisma.join(filter.priority)})`);
  if (filter.category) where.push(Prisma.sql`t.category = ${filter.category.trim().toLowerCase()}`);
  if (filter.tags?.length) where.push(Prisma.sql`t.tags && ${filter.tags.map((tag) => tag.trim().toLowerCase())}::text[]`);
  if (filter.assigneeId) where.push(Prisma.sql`t.assignee_id = ${uuidOf('Agent', filter.assigneeId, 'filter.assigneeId')}::uuid`);
  if (filter.assignedToMe) {
    if (!viewer.agentId) throw badInput([{ path: 'filter.assignedToMe', message: 'needs a credential of an agent (a token)' }]);
    where.push(Prisma.sql`t.assignee_id = ${viewer.agentId}::uuid`);
  }
  if (filter.unassigned != null) where.push(filter.unassigned ? Prisma.sql`t.assignee_id IS NULL` : Prisma.sql`t.assignee_id IS NOT NULL`);
  if (filter.customerId) where.push(Prisma.sql`t.customer_id = ${uuidOf('Customer', filter.customerId, 'filter.customerId')}::uuid`);
  if (filter.createdAfter) where.push(Prisma.sql`t.created_at >= ${filter.createdAfter}`);
  if (filter.createdBefore) where.push(Prisma.sql`t.created_at < ${filter.createdBefore}`);
  // As updatedAt shows it to the caller: a customer's is the last change they can see.
  const updatedAt = viewer.role === 'CUSTOMER' ? Prisma.sql`t.public_updated_at` : Prisma.sql`t.updated_at`;
  if (filter.updatedAfter) where.push(Prisma.sql`${updatedAt} >= ${filter.updatedAfter}`);
  if (filter.updatedBefore) where.push(Prisma.sql`${updatedAt} < ${filter.updatedBefore}`);
  return where;
}

/**
 * The matching tickets with their rank, best source and message: one row per ticket.
 * Each title, customer and message is matched on its own (websearch syntax: "a phrase",
 * -word, or); a title counts double. Substrings of the title, customer name and email
 * match too (the trigram indexes), as the search did before full text, ranked lowest.
 */
function matchesSql(viewer: Viewer, search: Search, fields: Set<SearchField>): Prisma.Sql {
  const visible = visibleTicketsSql(viewer, 't');
  const like = likeOf(search.text);
  const q = tsquery(search);
  const branches: Prisma.Sql[] = [];
  if (fields.has('TITLE')) {
    branches.push(Prisma.sql`
      SELECT t.id, (ts_rank_cd(t.title_tsv, ${q}) * 2)::float8 AS rank, 'TITLE' AS source, NULL::uuid AS message_id
      FROM tickets t WHERE ${visible} AND t.title_tsv @@ ${q}`);
    branches.push(Prisma.sql`
      SELECT t.id, 0.001::float8 AS rank, 'TITLE' AS source, NULL::uuid AS message_id FROM tickets t WHERE ${visible} AND t.title ILIKE ${like}`);
  }
  if (fields.has('CUSTOMER')) {
    const own = viewer.role === 'CUSTOMER' ? Prisma.sql`AND c.id = ${viewer.customerId}::uuid` : Prisma.empty;
    branches.push(Prisma.sql`
      SELECT t.id, CASE WHEN c.search_tsv @@ ${q} THEN ts_rank_cd(c.search_tsv, ${q})::float8 ELSE 0.001::float8 END AS rank,
        'CUSTOMER' AS source, NULL::uuid AS message_id
      FROM customers c JOIN tickets t ON t.customer_id = c.id
      WHERE c.team_id = ${viewer.teamId}::uuid ${own} AND ${visible}
        AND (c.search_tsv @@ ${q} OR c.name ILIKE ${like} OR c.email ILIKE ${like})`);
  }
  const publicMessages = fields.has('PUBLIC_MESSAGES');
  const internalMessages = fields.has('INTERNAL_MESSAGES') && viewer.role !== 'CUSTOMER';
  if (publicMessages || internalMessages) {
    const which = publicMessages && internalMessages ? Prisma.empty : Prisma.sql`AND m.is_internal = ${internalMessages}`;
    // Each matching message's ticket is looked up by its key (the LATERAL with OFFSET 0
    // keeps it a nested loop): a hash join read every ticket of the team, which grows with it.
    branches.push(Prisma.sql`
      SELECT t.id, ts_rank_cd(m.body_tsv, ${q})::float8 AS rank, 'MESSAGE' AS source, m.id AS message_id
      FROM messages m CROSS JOIN LATERAL (SELECT t.id FROM tickets t WHERE t.id = m.ticket_id AND ${visible} OFFSET 0) t
      WHERE m.body_tsv @@ ${q} ${which}`);
  }
  return Prisma.sql`
    hits AS (${Prisma.join(branches, ' UNION ALL ')}),
    matches AS (
      SELECT id, sum(rank)::float8 AS rank,
        (array_agg(source ORDER BY rank DESC, source DESC))[1] AS source,
        (array_agg(message_id ORDER BY rank DESC, source DESC))[1] AS message_id
      FROM hits GROUP BY id)`;
}

const SORT_COLUMNS = { CREATED_AT: 't.created_at', UPDATED_AT: 't.updated_at', PRIORITY: 't.priority' } as const;

function sortSql(viewer: Viewer, order: SearchOrder): Prisma.Sql {
  if (order.field === 'RELEVANCE') return Prisma.sql`m.rank`;
  // Customers sort by the updatedAt they see.
  if (order.field === 'UPDATED_AT' && viewer.role === 'CUSTOMER') return Prisma.sql`t.public_updated_at`;
  return Prisma.raw(SORT_COLUMNS[order.field]);
}

/** The filtered matches as `found (id, sort, rank, source, message_id)`. */
function foundSql(viewer: Viewer, filter: SearchFilter, search: Search, order: SearchOrder): Prisma.Sql {
  const fields = fieldsOf(viewer, filter.searchIn);
  return Prisma.sql`WITH ${matchesSql(viewer, search, fields)},
    found AS (
      SELECT t.id, t.sort, m.rank, m.source, m.message_id
      FROM matches m CROSS JOIN LATERAL (
        SELECT t.id, ${sortSql(viewer, order)} AS sort FROM tickets t
        WHERE t.id = m.id AND ${Prisma.join(conditionsSql(viewer, filter), ' AND ')} OFFSET 0) t)`;
}

/** Number of tickets the search finds for the viewer (the connection's totalCount). */
export async function countMatches(db: Db, viewer: Viewer, filter: SearchFilter, text: string): Promise<number> {
  const search = await searchOf(db, viewer, text);
  const [row] = await db.$queryRaw<Array<{ count: number }>>`
    ${foundSql(viewer, filter, search, { field: 'CREATED_AT', direction: 'desc' })}
    SELECT count(*)::int AS count FROM found`;
  return row?.count ?? 0;
}

/** The IDs of every ticket the search finds, up to `limit` + 1 (bulk updates by filter). */
export async function matchingIds(db: Db, viewer: Viewer, filter: SearchFilter, text: string, limit: number): Promise<string[]> {
  const search = await searchOf(db, viewer, text);
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    ${foundSql(viewer, filter, search, { field: 'CREATED_AT', direction: 'asc' })}
    SELECT id::text FROM found ORDER BY sort, id LIMIT ${limit + 1}`;
  return rows.map((r) => r.id);
}

/**
 * One page of the search, as Prisma's cursor paging would give it: `take` rows after
 * (or, negative, before) the cursor's row, which must itself be a hit. Each row comes
 * with its hit: the best match's place and a snippet of it, HTML-escaped with the
 * matched words in <mark>…</mark>; and the number of hits, counted by the same statement
 * (undefined when the page is empty).
 */
export async function searchPage(
  db: Db,
  viewer: Viewer,
  filter: SearchFilter,
  text: string,
  order: SearchOrder,
  paging: { take: number; cursorId?: string },
): Promise<{ hits: Array<{ id: string } & Hit>; total: number | undefined }> {
  const search = await searchOf(db, viewer, text);
  const forward = paging.take >= 0;
  // Going backwards reads the order the other way round; the page is then reversed.
  const descending = (order.direction === 'desc') === forward;
  const dir = Prisma.raw(descending ? 'DESC' : 'ASC');
  const after = paging.cursorId
    ? Prisma.sql`WHERE (f.sort, f.id) ${Prisma.raw(descending ? '<' : '>')} (SELECT sort, id FROM found WHERE id = ${paging.cursorId}::uuid)`
    : Prisma.empty;
  const escapeHtml = (sql: Prisma.Sql) => Prisma.sql`replace(replace(replace(${sql}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')`;
  const headline = (doc: Prisma.Sql) =>
    Prisma.sql`ts_headline(${search.config}::regconfig, ${escapeHtml(doc)}, ${tsquery(search)}, 'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, ShortWord=0, MaxFragments=2, FragmentDelimiter=" … "')`;
  const rows = await db.$queryRaw<Array<{ id: string; rank: number; source: MatchedIn; message_id: string | null; snippet: string; total: number }>>`
    ${foundSql(viewer, filter, search, order)},
    page AS (SELECT f.* FROM found f ${after} ORDER BY f.sort ${dir}, f.id ${dir} LIMIT ${Math.abs(paging.take)})
    SELECT p.id::text, p.rank, p.source, p.message_id::text, (SELECT count(*)::int FROM found) AS total,
      CASE p.source
        WHEN 'TITLE' THEN ${headline(Prisma.sql`t.title`)}
        WHEN 'MESSAGE' THEN ${headline(Prisma.sql`msg.body`)}
        ELSE ${headline(Prisma.sql`coalesce(c.name || ' ', '') || c.email`)}
      END AS snippet
    FROM page p JOIN tickets t ON t.id = p.id
      LEFT JOIN messages msg ON msg.id = p.message_id
      LEFT JOIN customers c ON c.id = t.customer_id
    ORDER BY p.sort ${dir}, p.id ${dir}`;
  const hits = rows.map((r) => ({ id: r.id, rank: r.rank, matchedIn: r.source, messageId: r.message_id, snippet: r.snippet }));
  return { hits: forward ? hits : hits.reverse(), total: rows[0]?.total };
}

/** Whether `id` is a hit of the search (a cursor must name one). */
export async function isMatch(db: Db, viewer: Viewer, filter: SearchFilter, text: string, id: string): Promise<boolean> {
  const search = await searchOf(db, viewer, text);
  const [row] = await db.$queryRaw<Array<{ found: boolean }>>`
    ${foundSql(viewer, filter, search, { field: 'CREATED_AT', direction: 'desc' })}
    SELECT EXISTS (SELECT 1 FROM found WHERE id = ${id}::uuid) AS found`;
  return row?.found ?? false;
}
