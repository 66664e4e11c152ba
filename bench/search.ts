// npm run bench:search: full-text search as the data grows, and what keeping its index
// costs each message written. One team is seeded with SQL (generate_series) to 10,000
// tickets and 100,000 messages, its searches are timed, then it grows to 100,000
// tickets and 1,000,000 messages and the same searches are timed again. See BENCHMARKS.md.
import './production.js';
import pg from 'pg';
import { inProcessApp } from './in-process.js';

const { team, post, url, stop } = await inProcessApp('Search');
const sql = new pg.Client({ connectionString: url });
await sql.connect();

/** The indexes that searches read, rebuilt in bulk by seed(). */
const SEARCH_INDEXES = [
  'tickets_title_tsv_idx',
  'tickets_title_trgm_idx',
  'messages_body_tsv_idx',
  'messages_body_trgm_idx',
  'messages_team_id_created_at_idx',
  'customers_search_tsv_idx',
];

/**
 * Tickets `from`…`to` of the team, each with ten messages of 15 words of a 2,000-word
 * vocabulary, and a customer per ten tickets. Triggers and GIN indexes are off while
 * rows go in (the tsvectors are computed in the INSERT itself, in the team's
 * configuration, as the triggers would) and the indexes are built after: a bulk build is
 * many times faster than row-by-row upkeep.
 */
async function seed(from: number, to: number) {
  const started = performance.now();
  await sql.query('ALTER TABLE tickets DISABLE TRIGGER tickets_title_tsv');
  await sql.query('ALTER TABLE messages DISABLE TRIGGER messages_body_tsv');
  await sql.query('ALTER TABLE customers DISABLE TRIGGER customers_search_tsv');
  // Dropped, then built again from their own definitions (the migrations'), once the rows are in.
  const { rows: indexes } = await sql.query<{ name: string; definition: string }>(
    `SELECT indexname AS name, indexdef AS definition FROM pg_indexes WHERE schemaname = 'public' AND indexname = ANY($1)`,
    [SEARCH_INDEXES],
  );
  if (indexes.length !== SEARCH_INDEXES.length) throw new Error(`search indexes missing: ${SEARCH_INDEXES.filter((n) => !indexes.some((i) => i.name === n))}`);
  for (const { name } of indexes) await sql.query(`DROP INDEX ${name}`);
  await sql.query(
    `INSERT INTO customers (id, team_id, name, email, search_tsv, updated_at)
     SELECT gen_random_uuid(), $1, 'Customer ' || g, 'cust-' || g || '@example.com', to_tsvector('simple', 'Customer ' || g || ' cust-' || g || '@example.com'), now()
     FROM generate_series($2::int / 10 + 1, $3::int / 10) g`,
    [team.id, from, to],
  );
  await sql.query(
    `INSERT INTO tickets (id, team_id, number, title, title_tsv, customer_id, message_count, public_message_count, created_at, updated_at)
     SELECT gen_random_uuid(), $1, g, 'Order #' || (100000 + g) || ' ' || w.words, to_tsvector('simple', 'Order #' || (100000 + g) || ' ' || w.words),
            c.id, 10, 9, now() - (($3::int - g) || ' minutes')::interval, now()
     FROM generate_series($2::int, $3::int) g
     CROSS JOIN LATERAL (SELECT string_agg('w' || (1 + (random() * 1999)::int), ' ') AS words FROM generate_series(1, 4) k WHERE g > 0) w
     JOIN customers c ON c.team_id = $1 AND c.email = 'cust-' || ((g - 1) / 10 + 1) || '@example.com'`,
    [team.id, from, to],
  );
  await sql.query(
    `INSERT INTO messages (id, ticket_id, team_id, sender, body, body_tsv, is_internal, created_at)
     SELECT gen_random_uuid(), t.id, t.team_id, CASE WHEN m % 2 = 0 THEN 'AGENT' ELSE 'CUSTOMER' END::"MessageSender", b.body, to_tsvector('simple', b.body),
            m = 10, t.created_at + (m || ' seconds')::interval
     FROM tickets t CROSS JOIN generate_series(1, 10) m
     CROSS JOIN LATERAL (SELECT string_agg('w' || (1 + (random() * 1999)::int), ' ') AS body FROM generate_series(1, 15) k WHERE m > 0 AND t.id IS NOT NULL) b
     WHERE t.team_id = $1 AND t.number BETWEEN $2 AND $3`,
    [team.id, from, to],
  );
  await sql.query(`UPDATE teams SET ticket_seq = $2 WHERE id = $1`, [team.id, to]);
  for (const { definition } of indexes) await sql.query(definition);
  await sql.query('ALTER TABLE tickets ENABLE TRIGGER tickets_title_tsv');
  await sql.query('ALTER TABLE messages ENABLE TRIGGER messages_body_tsv');
  await sql.query('ALTER TABLE customers ENABLE TRIGGER customers_search_tsv');
  await sql.query('VACUUM ANALYZE tickets, messages, customers');
  return (performance.now() - started) / 1000;
}

const SEARCH = `query($search: String!, $order: TicketOrderField!) {
  tickets(first: 20, filter: { search: $search }, orderBy: { field: $order, direction: DESC }) {
    totalCount totalCountIsLowerBound edges { snippet matchedIn node { id number title } }
  }
}`;

/** The searches timed, each matching the same tickets at both sizes except the common word, by relevance and by date. */
const SEARCHES = [
  { name: 'word in 20 messages', search: 'zebracorn' },
  { name: 'phrase', search: '"zebracorn invoice"' },
  { name: 'word -excluded', search: 'zebracorn -invoice' },
  { name: 'order number (title substring)', search: '#100042' },
  { name: 'part of an email (customer substring)', search: 'cust-777@' },
  { name: 'order number (message substring)', search: '77881' },
  { name: 'common word (0.7 % of messages)', search: 'w1234' },
].flatMap((s) => [
  { ...s, order: 'RELEVANCE' },
  { ...s, name: `${s.name}, by date`, order: 'CREATED_AT' },
]);

async function timeSearches() {
  const out: Record<string, { p50: number; p90: number; total: number; capped: boolean }> = {};
  for (const s of SEARCHES) {
    let total = 0;
    let capped = false;
    for (let i = 0; i < 3; i++) ({ totalCount: total, totalCountIsLowerBound: capped } = (await post(SEARCH, { search: s.search, order: s.order })).tickets);
    const times: number[] = [];
    for (let i = 0; i < 25; i++) {
      const started = performance.now();
      await post(SEARCH, { search: s.search, order: s.order });
      times.push(performance.now() - started);
    }
    times.sort((a, b) => a - b);
    out[s.name] = { p50: times[12]!, p90: times[22]!, total, capped };
  }
  return out;
}

/**
 * PostgreSQL time of single-row message inserts, each its own statement, timed inside
 * PostgreSQL (mean, and the slowest: the one that merges the trigram index's pending
 * list), with every search index and trigger; without the trigram index of bodies;
 * and without any (the trigger off, team_id given, both GIN indexes of bodies and the (team_id, created_at) index dropped). The
 * differences are what each part of the upkeep costs a message. All in one
 * transaction, rolled back.
 */
async function upkeepPerMessage() {
  const { rows } = await sql.query<{ id: string }>('SELECT id FROM tickets WHERE team_id = $1 ORDER BY number LIMIT 1', [team.id]);
  const ticketId = rows[0]!.id;
  const run = async (n: number) => {
    const res = await sql.query<{ mean: number; max: number }>(
      `SELECT avg(ms)::float8 AS mean, max(ms)::float8 AS max FROM pg_temp.insert_messages($1, $2, $3) ms`,
      [n, ticketId, team.id],
    );
    return res.rows[0]!;
  };
  await sql.query('BEGIN');
  await sql.query(`
    CREATE FUNCTION pg_temp.insert_messages(n int, ticket uuid, team uuid) RETURNS SETOF float8 LANGUAGE plpgsql AS $$
    DECLARE started timestamptz; BEGIN
      FOR i IN 1..n LOOP
        started := clock_timestamp();
        INSERT INTO messages (id, ticket_id, team_id, sender, body) VALUES (gen_random_uuid(), ticket, team, 'AGENT',
          'Thanks for the report, we looked at order ' || (88000 + i) || ' and the invoice w' || (i % 2000) || ' shows the refund was sent on Tuesday to the card ending ' || (1000 + i));
        RETURN NEXT extract(epoch FROM clock_timestamp() - started) * 1000;
      END LOOP;
    END $$`);
  await run(500); // warm-up
  const all = await run(3000);
  await sql.query('DROP INDEX messages_body_trgm_idx');
  const words = await run(3000);
  await sql.query('ALTER TABLE messages DISABLE TRIGGER messages_body_tsv');
  await sql.query('DROP INDEX messages_body_tsv_idx');
  await sql.query('DROP INDEX messages_team_id_created_at_idx');
  const none = await run(3000);
  await sql.query('ROLLBACK');
  return { all, words, none };
}

try {
  const report: string[] = [];
  const seedSmall = await seed(1, 10_000);
  // Twenty messages with the rare word, two with the phrase, placed once: both sizes match the same ones.
  await sql.query(
    `UPDATE messages SET body = body || CASE WHEN n <= 2 THEN ' zebracorn invoice' ELSE ' zebracorn' END || ' order-77881' || n
     FROM (SELECT m.id, row_number() OVER (ORDER BY m.id) n FROM messages m JOIN tickets t ON t.id = m.ticket_id
           WHERE t.team_id = $1 AND NOT m.is_internal AND t.number % 500 = 0) pick
     WHERE messages.id = pick.id AND pick.n <= 20`,
    [team.id],
  );
  const small = await timeSearches();
  const upkeepSmall = await upkeepPerMessage();
  const seedLarge = await seed(10_001, 100_000);
  const large = await timeSearches();
  const upkeepLarge = await upkeepPerMessage();
  report.push(`seeding: ${seedSmall.toFixed(0)} s to 10,000 tickets, ${seedLarge.toFixed(0)} s more to 100,000`);
  report.push('| search | matches (10k → 100k) | p50 ms 10k | p50 ms 100k | ratio | p90 ms 10k | p90 ms 100k |');
  report.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  const count = (r: { total: number; capped: boolean }) => `${r.total}${r.capped ? '+' : ''}`;
  for (const s of SEARCHES) {
    const a = small[s.name]!;
    const b = large[s.name]!;
    report.push(`| ${s.name} | ${count(a)} → ${count(b)} | ${a.p50.toFixed(1)} | ${b.p50.toFixed(1)} | ${(b.p50 / a.p50).toFixed(2)} | ${a.p90.toFixed(1)} | ${b.p90.toFixed(1)} |`);
  }
  report.push('| message insert | all search upkeep | without the trigram index | without search upkeep | trigram index | tsvector trigger + index | slowest insert |');
  report.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const [size, u] of [['10k', upkeepSmall], ['100k', upkeepLarge]] as const) {
    const ms = (n: number) => n.toFixed(3);
    report.push(
      `| at ${size} | ${ms(u.all.mean)} | ${ms(u.words.mean)} | ${ms(u.none.mean)} | ${ms(u.all.mean - u.words.mean)} | ${ms(u.words.mean - u.none.mean)} | ${u.all.max.toFixed(1)} |`,
    );
  }
  process.stdout.write(`${report.join('\n')}\n`);
} finally {
  await sql.end();
  await stop();
}
