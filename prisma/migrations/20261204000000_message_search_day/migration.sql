-- A message's day (days since 1970-01-01 UTC) is a second key of its full-text index
-- (btree_gin), so that a search for a common word reads its most recent matches day by
-- day, newest first, instead of every match the team ever wrote: the GIN index knows
-- which rows match, not which are recent, and choosing the most recent 1,000 of them
-- read each one's row. The search trigger sets it from created_at.
CREATE EXTENSION IF NOT EXISTS "btree_gin";

ALTER TABLE "messages" ADD COLUMN "search_day" INTEGER;

CREATE OR REPLACE FUNCTION "messages_body_tsv"() RETURNS trigger LANGUAGE plpgsql AS E'DECLARE config regconfig\073
BEGIN
  SELECT t.team_id, tm.search_config::regconfig INTO NEW.team_id, config FROM tickets t JOIN teams tm ON tm.id = t.team_id WHERE t.id = NEW.ticket_id\073
  NEW.body_tsv := to_tsvector(config, NEW.body)\073
  NEW.search_day := floor(extract(epoch FROM NEW.created_at) / 86400)::int\073
  RETURN NEW\073
END';
DROP TRIGGER "messages_body_tsv" ON "messages";
CREATE TRIGGER "messages_body_tsv" BEFORE INSERT OR UPDATE OF "body", "ticket_id", "created_at" ON "messages"
  FOR EACH ROW EXECUTE FUNCTION "messages_body_tsv"();

-- Setting search_day alone does not fire the trigger: the vectors stay as they are.
UPDATE "messages" SET "search_day" = floor(extract(epoch FROM "created_at") / 86400)::int;
ALTER TABLE "messages" ALTER COLUMN "search_day" SET NOT NULL;

DROP INDEX "messages_body_tsv_idx";
CREATE INDEX "messages_body_tsv_idx" ON "messages" USING GIN ("body_tsv", "search_day") WITH (fastupdate = off);

-- Whether a team has messages older than the days a search has read (a probe of this
-- index): a search that found fewer than its bound in the recent days reads the older
-- matches only if there are older messages at all.
CREATE INDEX "messages_team_id_search_day_idx" ON "messages" ("team_id", "search_day");
