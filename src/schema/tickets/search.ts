// Full-text search of tickets: titles, customers and message threads, in the team's
// text search configuration, ranked, with a highlighted snippet per hit. Prisma has no
// tsvector operators, so a search lists its page in SQL (the filter's other conditions
// included) and Prisma then reads the page's rows for the operation's selection.
import type { Viewer } from '../../auth/viewer.js';
import { visibleMessagesSql, visibleTicketsSql } from '../../auth/visibility.js';
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
 * that SearchFilter names every field of TicketFilter): for searches, and for the
 * pages of the list that listing.ts reads itself.
 */
export function conditionsSql(viewer: Viewer, filter: SearchFilter): Prisma.Sql[] {
  const where: Prisma.Sql[] = [visibleTicketsSql(viewer, 't')];
  // One parameter for a list of any length: one statement text for every list.
  if (filter.status?.length) where.push(Prisma.sql`t.status::text = ANY(${filter.status}::text[])`);
  if (filter.priority?.length) where.push(Prisma.sql`t.priority::text = ANY(${filter.priority}::text[])`);
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
 * How many matches of each kind a search for a page ranks and counts: the most recent
 * ones (titles and customers by their ticket's creation, messages by their own). A
 * search that matches more is answered from those, and says so (`capped`): the work
 * of a page then stays the same however much the team has written.
 */
export const SEARCH_CANDIDATES = 1000;

/**
 * Whether the text is worth matching as a substring of message bodies: one term of at
 * least four characters that is all digits (part of an order number) or has a sign in
 * it (part of an email, a URL, `ORD-88412`). Words, and words with digits such as
 * `w1234`, are found whole by the full-text index; a substring of letters such as `the`
 * would match most messages through the trigram index.
 */
export function isSubstringTerm(text: string): boolean {
  return text.length >= 4 && !/\s/.test(text) && (/^\d+$/.test(text) || /[^\p{L}\p{N}]/u.test(text));
}

/**
 * How the most recent matching messages are found day by day (see recentMessagesSql):
 * first from yesterday on (today, and any day ahead, for a clock that runs ahead of the
 * database's), then, for a word that matched at least `EARLIER_FROM_MATCHES` there, as
 * many days before as that rate says the bound needs, with `EARLIER_MARGIN` to spare, if
 * that is at most `EARLIER_MAX_DAYS`; then everything older, if those found no more than
 * the bound.
 */
const RECENT_FROM_DAYS_AGO = 1;
const EARLIER_FROM_MATCHES = 20;
const EARLIER_MARGIN = 1.25;
const EARLIER_MAX_DAYS = 60;

/**
 * A message's day, days since 1970-01-01 UTC: the second key of messages_body_tsv_idx
 * (the migration's expression, which the planner must see as it is written there).
 */
const DAY = Prisma.raw(`floor(extract(epoch FROM m.created_at AT TIME ZONE 'UTC') / 86400)::int`);

/**
 * The `cap` + 1 most recent of the messages `matching` selects (with its created_at).
 * Choosing them reads each candidate's row, so reading every match of a common word
 * would cost a search in proportion to all the team ever wrote. The full-text index also
 * keys each message by its day, so the search reads the recent days' matches first, then
 * the days before that the rate of those matches says it needs, and only when those found
 * no more than `cap`, the rest: a word that is common lately reads about `cap` rows
 * however old the team is, a rare one reads the recent days' entries of the index and then
 * its few matches; the rest is skipped when the team has no messages before the days read
 * (the oldest by messages_team_id_created_at_idx), so that a young team does not read its
 * matches twice. The days are the database's (now()), as created_at is; each part's days
 * are older than the part's before it, so the union, cut to `cap` + 1 by date, is exactly
 * the most recent matches.
 */
function recentMessagesSql(matching: Prisma.Sql, teamId: string | null, cap: number): Prisma.Sql {
  const raw = (n: number) => Prisma.raw(String(n));
  const limit = Prisma.sql`ORDER BY m.created_at DESC LIMIT ${cap + 1}`;
  return Prisma.sql`
    WITH clock AS MATERIALIZED (
      SELECT floor(d)::int - ${raw(RECENT_FROM_DAYS_AGO)} AS recent_from, d AS day_now FROM (SELECT extract(epoch FROM now()) / 86400 AS d) c),
    recent AS MATERIALIZED (${matching} AND ${DAY} >= (SELECT recent_from FROM clock) ${limit}),
    span AS MATERIALIZED (
      SELECT CASE WHEN days <= ${raw(EARLIER_MAX_DAYS)} THEN days END AS days FROM (
        SELECT CASE WHEN n >= ${raw(EARLIER_FROM_MATCHES)} AND n <= ${cap}
          THEN ceil((${cap + 1} - n) * (day_now - recent_from) * ${raw(EARLIER_MARGIN)} / n)::int END AS days
        FROM (SELECT count(*) AS n FROM recent) r, clock) s),
    earlier AS MATERIALIZED (
      ${matching} AND (SELECT days FROM span) IS NOT NULL
        AND ${DAY} = ANY(ARRAY(SELECT generate_series(recent_from - days, recent_from - 1) FROM clock, span))
      ${limit}),
    -- Where the older part starts: before the first day read.
    bounds AS MATERIALIZED (SELECT to_timestamp((recent_from - coalesce(days, 0))::float8 * 86400) AS before FROM clock, span),
    older AS MATERIALIZED (
      ${matching} AND (SELECT count(*) FROM recent) + (SELECT count(*) FROM earlier) <= ${cap}
        -- A min, which PostgreSQL reads from one end of the index (an EXISTS could be planned as a scan of the table).
        AND (SELECT min(o.created_at) FROM messages o WHERE o.team_id = ${teamId}::uuid) < (SELECT before FROM bounds)
        -- By created_at, which the full-text index does not hold: a range of its days would list every message of those days.
        AND m.created_at < (SELECT before FROM bounds)
      ${limit})
    SELECT * FROM (SELECT * FROM recent UNION ALL SELECT * FROM earlier UNION ALL SELECT * FROM older) u ORDER BY created_at DESC LIMIT ${cap + 1}`;
}

/**
 * The matching tickets with their rank, best source and message: one row per ticket,
 * and whether a kind of match had more than `cap` (null: no cap). Each title, customer
 * and message is matched on its own (websearch syntax: "a phrase", -word, or); a title
 * counts double. Substrings match too (the trigram indexes), ranked lowest: of titles,
 * customer names and emails, and of message bodies for terms such as order numbers.
 * Every condition of what the viewer may see, and of the filter, applies before the cap:
 * what the cap leaves out never depends on what the viewer may not see.
 */
function matchesSql(viewer: Viewer, search: Search, fields: Set<SearchField>, where: Prisma.Sql[], cap: number | null): Prisma.Sql {
  const conditions = Prisma.join(where, ' AND ');
  const like = likeOf(search.text);
  const q = tsquery(search);
  // The most recent `cap` + 1 rows of a kind: one more than the cap tells that there were more.
  const recent = (order: string) => (cap === null ? Prisma.empty : Prisma.sql`ORDER BY ${Prisma.raw(order)} DESC LIMIT ${cap + 1}`);
  const branches: Prisma.Sql[] = [];
  const branch = (select: Prisma.Sql) => branches.push(Prisma.sql`SELECT ${branches.length} AS branch, x.* FROM (${select}) x`);
  if (fields.has('TITLE')) {
    branch(Prisma.sql`
      SELECT id, (ts_rank_cd(tsv, ${q}) * 2)::float8 AS rank, 'TITLE' AS source, NULL::uuid AS message_id, false AS substring
      FROM (SELECT t.id, t.title_tsv AS tsv FROM tickets t WHERE ${conditions} AND t.title_tsv @@ ${q} ${recent('t.created_at')}) r`);
    branch(Prisma.sql`
      SELECT t.id, 0.001::float8 AS rank, 'TITLE' AS source, NULL::uuid AS message_id, true AS substring
      FROM tickets t WHERE ${conditions} AND t.title ILIKE ${like} ${recent('t.created_at')}`);
  }
  if (fields.has('CUSTOMER')) {
    const own = viewer.role === 'CUSTOMER' ? Prisma.sql`AND c.id = ${viewer.customerId}::uuid` : Prisma.empty;
    branch(Prisma.sql`
      SELECT t.id, CASE WHEN c.search_tsv @@ ${q} THEN ts_rank_cd(c.search_tsv, ${q})::float8 ELSE 0.001::float8 END AS rank,
        'CUSTOMER' AS source, NULL::uuid AS message_id, NOT coalesce(c.search_tsv @@ ${q}, false) AS substring
      FROM customers c JOIN tickets t ON t.customer_id = c.id
      WHERE c.team_id = ${viewer.teamId}::uuid ${own} AND ${conditions}
        AND (c.search_tsv @@ ${q} OR c.name ILIKE ${like} OR c.email ILIKE ${like}) ${recent('t.created_at')}`);
  }
  const publicMessages = fields.has('PUBLIC_MESSAGES');
  const internalMessages = fields.has('INTERNAL_MESSAGES') && viewer.role !== 'CUSTOMER';
  if (publicMessages || internalMessages) {
    const which = publicMessages && internalMessages ? Prisma.empty : Prisma.sql`AND m.is_internal = ${internalMessages}`;
    // Staff's messages are chosen by their own row (its team); the ticket is looked up
    // only for a customer's (their own tickets) or when the filter asks more of it.
    const filtered = where.length > 1 ? Prisma.sql`AND EXISTS (SELECT 1 FROM tickets t WHERE t.id = m.ticket_id AND ${conditions})` : Prisma.empty;
    const team = Prisma.sql`${visibleMessagesSql(viewer)} ${which} ${filtered}`;
    const matching = Prisma.sql`SELECT m.id, m.ticket_id, m.body_tsv AS tsv, m.created_at FROM messages m WHERE ${team} AND m.body_tsv @@ ${q}`;
    branch(Prisma.sql`
      SELECT ticket_id AS id, ts_rank_cd(tsv, ${q})::float8 AS rank, 'MESSAGE' AS source, id AS message_id, false AS substring
      FROM (${cap === null ? matching : recentMessagesSql(matching, viewer.teamId, cap)}) r`);
    if (isSubstringTerm(search.text)) {
      branch(Prisma.sql`
        SELECT m.ticket_id AS id, 0.001::float8 AS rank, 'MESSAGE' AS source, m.id AS message_id, true AS substring
        FROM messages m WHERE ${team} AND m.body ILIKE ${like} ${recent('m.created_at')}`);
    }
  }
  const capped = cap === null ? Prisma.sql`false` : Prisma.sql`(SELECT coalesce(bool_or(n > ${cap}), false) FROM (SELECT count(*) AS n FROM hits GROUP BY branch) b)`;
  return Prisma.sql`
    hits AS (${Prisma.join(branches, ' UNION ALL ')}),
    -- A ticket's best hit and the sum of its ranks, in one sort of the hits (the window's
    -- order is the DISTINCT ON's; its frame is the whole ticket). hits.rank: the hit's own,
    -- not the output column of the same name.
    matches AS (
      SELECT DISTINCT ON (id) id, (sum(rank) OVER ticket)::float8 AS rank, source, message_id, substring
      FROM hits
      WINDOW ticket AS (PARTITION BY id ORDER BY rank DESC, source DESC ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
      ORDER BY hits.id, hits.rank DESC, hits.source DESC),
    capped AS (SELECT ${capped} AS capped)`;
}

const SORT_COLUMNS = { CREATED_AT: 'created_at', UPDATED_AT: 'updated_at', PRIORITY: 'priority' } as const;

/** The column of `tickets` a sort field sorts by: customers sort by the updatedAt they see. */
export function sortColumn(viewer: Viewer, field: keyof typeof SORT_COLUMNS) {
  return field === 'UPDATED_AT' && viewer.role === 'CUSTOMER' ? 'public_updated_at' : SORT_COLUMNS[field];
}

function sortSql(viewer: Viewer, order: SearchOrder): Prisma.Sql {
  if (order.field === 'RELEVANCE') return Prisma.sql`m.rank`;
  return Prisma.raw(`t.${sortColumn(viewer, order.field)}`);
}

/** The filtered matches as `found (id, sort, rank, source, message_id, substring)`, and `capped`. */
function foundSql(viewer: Viewer, filter: SearchFilter, search: Search, order: SearchOrder, cap: number | null): Prisma.Sql {
  const fields = fieldsOf(viewer, filter.searchIn);
  const where = conditionsSql(viewer, filter);
  return Prisma.sql`WITH ${matchesSql(viewer, search, fields, where, cap)},
    found AS (
      SELECT t.id, t.sort, m.rank, m.source, m.message_id, m.substring
      FROM matches m CROSS JOIN LATERAL (
        SELECT t.id, ${sortSql(viewer, order)} AS sort FROM tickets t
        WHERE t.id = m.id AND ${Prisma.join(where, ' AND ')} OFFSET 0) t)`;
}

/** The tickets a search finds, and whether it found more matches than it ranks (SEARCH_CANDIDATES of a kind). */
export type SearchCount = { total: number; capped: boolean };

const BY_DATE: SearchOrder = { field: 'CREATED_AT', direction: 'desc' };

/** Number of tickets the search finds for the viewer (the connection's totalCount), among its candidates. */
export async function countMatches(db: Db, viewer: Viewer, filter: SearchFilter, text: string): Promise<SearchCount> {
  const search = await searchOf(db, viewer, text);
  const [row] = await db.$queryRaw<Array<SearchCount>>`
    ${foundSql(viewer, filter, search, BY_DATE, SEARCH_CANDIDATES)}
    SELECT count(*)::int AS total, (SELECT capped FROM capped) AS capped FROM found`;
  return row ?? { total: 0, capped: false };
}

/** The IDs of every ticket the search finds (no cap), up to `limit` + 1 (bulk updates by filter). */
export async function matchingIds(db: Db, viewer: Viewer, filter: SearchFilter, text: string, limit: number): Promise<string[]> {
  const search = await searchOf(db, viewer, text);
  const rows = await db.$queryRaw<Array<{ id: string }>>`
    ${foundSql(viewer, filter, search, { field: 'CREATED_AT', direction: 'asc' }, null)}
    SELECT id::text FROM found ORDER BY sort, id LIMIT ${limit + 1}`;
  return rows.map((r) => r.id);
}

const escapeHtml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** A substring hit's snippet: the text around the first occurrence, HTML-escaped, the substring in <mark>…</mark>. */
export function substringSnippet(doc: string, text: string, around = 60): string {
  const at = doc.toLowerCase().indexOf(text.toLowerCase());
  if (at < 0) return escapeHtml(doc.slice(0, 2 * around));
  const from = Math.max(0, at - around);
  const to = Math.min(doc.length, at + text.length + around);
  return (
    (from > 0 ? '…' : '') +
    escapeHtml(doc.slice(from, at)) +
    `<mark>${escapeHtml(doc.slice(at, at + text.length))}</mark>` +
    escapeHtml(doc.slice(at + text.length, to)) +
    (to < doc.length ? '…' : '')
  );
}

/**
 * One page of the search, as Prisma's cursor paging would give it: `take` rows after
 * (or, negative, before) the cursor's row, which must itself be a hit. Each row comes
 * with its hit: the best match's place and a snippet of it, HTML-escaped with the
 * matched words in <mark>…</mark>; and the count of hits, by the same statement
 * (undefined when the page is empty).
 */
export async function searchPage(
  db: Db,
  viewer: Viewer,
  filter: SearchFilter,
  text: string,
  order: SearchOrder,
  paging: { take: number; cursorId?: string },
): Promise<{ hits: Array<{ id: string } & Hit>; count: SearchCount | undefined }> {
  const search = await searchOf(db, viewer, text);
  const forward = paging.take >= 0;
  // Going backwards reads the order the other way round; the page is then reversed.
  const descending = (order.direction === 'desc') === forward;
  const dir = Prisma.raw(descending ? 'DESC' : 'ASC');
  const after = paging.cursorId
    ? Prisma.sql`WHERE (f.sort, f.id) ${Prisma.raw(descending ? '<' : '>')} (SELECT sort, id FROM found WHERE id = ${paging.cursorId}::uuid)`
    : Prisma.empty;
  const escapeSql = (sql: Prisma.Sql) => Prisma.sql`replace(replace(replace(${sql}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')`;
  const headline = (doc: Prisma.Sql) =>
    Prisma.sql`ts_headline(${search.config}::regconfig, ${escapeSql(doc)}, ${tsquery(search)}, 'StartSel=<mark>, StopSel=</mark>, MaxWords=30, MinWords=12, ShortWord=0, MaxFragments=2, FragmentDelimiter=" … "')`;
  const rows = await db.$queryRaw<
    Array<{ id: string; rank: number; source: MatchedIn; message_id: string | null; substring: boolean; doc: string; snippet: string | null; total: number; capped: boolean }>
  >`
    ${foundSql(viewer, filter, search, order, SEARCH_CANDIDATES)},
    page AS (SELECT f.* FROM found f ${after} ORDER BY f.sort ${dir}, f.id ${dir} LIMIT ${Math.abs(paging.take)})
    SELECT p.id::text, p.rank, p.source, p.message_id::text, p.substring, d.doc,
      CASE WHEN p.substring THEN NULL ELSE ${headline(Prisma.sql`d.doc`)} END AS snippet,
      (SELECT count(*)::int FROM found) AS total, (SELECT capped FROM capped) AS capped
    FROM page p JOIN tickets t ON t.id = p.id
      LEFT JOIN messages msg ON msg.id = p.message_id
      LEFT JOIN customers c ON c.id = t.customer_id
      CROSS JOIN LATERAL (SELECT CASE p.source WHEN 'TITLE' THEN t.title WHEN 'MESSAGE' THEN msg.body ELSE coalesce(c.name || ' ', '') || c.email END AS doc) d
    ORDER BY p.sort ${dir}, p.id ${dir}`;
  const hits = rows.map((r) => ({
    id: r.id,
    rank: r.rank,
    matchedIn: r.source,
    messageId: r.message_id,
    snippet: r.substring ? substringSnippet(r.doc, search.text) : (r.snippet ?? ''),
  }));
  const first = rows[0];
  return { hits: forward ? hits : hits.reverse(), count: first && { total: first.total, capped: first.capped } };
}

/** Whether `id` is a hit of the search (a cursor must name one). */
export async function isMatch(db: Db, viewer: Viewer, filter: SearchFilter, text: string, id: string): Promise<boolean> {
  const search = await searchOf(db, viewer, text);
  const [row] = await db.$queryRaw<Array<{ found: boolean }>>`
    ${foundSql(viewer, filter, search, BY_DATE, SEARCH_CANDIDATES)}
    SELECT EXISTS (SELECT 1 FROM found WHERE id = ${id}::uuid) AS found`;
  return row?.found ?? false;
}
