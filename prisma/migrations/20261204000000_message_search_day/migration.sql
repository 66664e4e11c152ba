-- A message's day (days since 1970-01-01 UTC, from created_at) is a second key of its
-- full-text index (btree_gin), so that a search for a common word reads its most
-- recent matches day by day, newest first, instead of every match the team ever wrote:
-- the GIN index knows which rows match, not which are recent, and choosing the most
-- recent 1,000 of them read each one's row. The day is an expression of the index, not
-- a column: nothing is written to the messages, and the table is not rewritten.
CREATE EXTENSION IF NOT EXISTS "btree_gin";

-- Built beside the old index, which searches keep using until it is replaced.
CREATE INDEX "messages_body_tsv_day_idx" ON "messages"
  USING GIN ("body_tsv", (floor(extract(epoch FROM "created_at" AT TIME ZONE 'UTC') / 86400)::int)) WITH (fastupdate = off);
DROP INDEX "messages_body_tsv_idx";
ALTER INDEX "messages_body_tsv_day_idx" RENAME TO "messages_body_tsv_idx";

-- The oldest message of a team (a min): whether a search that found fewer than its
-- bound in the recent days has older messages to read at all.
CREATE INDEX "messages_team_id_created_at_idx" ON "messages" ("team_id", "created_at");
