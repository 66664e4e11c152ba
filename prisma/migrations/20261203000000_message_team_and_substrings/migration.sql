-- A message carries its ticket's team, so that a staff search filters the messages a
-- GIN index finds on their own row: looking each one's ticket up cost a search time in
-- proportion to everything it matched. The search trigger, which reads the ticket's
-- team for its configuration anyway, sets it (tickets never change team, and messages
-- never change ticket: a merge copies them). No foreign key: deleting the ticket, or
-- its team, already deletes the message.
ALTER TABLE "messages" ADD COLUMN "team_id" UUID;

CREATE OR REPLACE FUNCTION "messages_body_tsv"() RETURNS trigger LANGUAGE plpgsql AS E'DECLARE config regconfig\073
BEGIN
  SELECT t.team_id, tm.search_config::regconfig INTO NEW.team_id, config FROM tickets t JOIN teams tm ON tm.id = t.team_id WHERE t.id = NEW.ticket_id\073
  NEW.body_tsv := to_tsvector(config, NEW.body)\073
  RETURN NEW\073
END';
DROP TRIGGER "messages_body_tsv" ON "messages";
CREATE TRIGGER "messages_body_tsv" BEFORE INSERT OR UPDATE OF "body", "ticket_id" ON "messages"
  FOR EACH ROW EXECUTE FUNCTION "messages_body_tsv"();

-- Setting team_id alone does not fire the trigger: the vectors stay as they are.
UPDATE "messages" m SET "team_id" = t."team_id" FROM "tickets" t WHERE t."id" = m."ticket_id";
ALTER TABLE "messages" ALTER COLUMN "team_id" SET NOT NULL;

-- Substrings of message bodies (part of an email, an order number). Unlike the other
-- GIN indexes, this one takes new entries into a pending list of at most 512 kB: a
-- message adds about a hundred trigrams, which cost 0.3 ms of direct GIN inserts per
-- message and 0.1 ms through the list (measured on 1,000,000 messages, see
-- BENCHMARKS.md), while a substring search scans at most those 512 kB.
CREATE INDEX "messages_body_trgm_idx" ON "messages" USING GIN ("body" gin_trgm_ops) WITH (fastupdate = on, gin_pending_list_limit = 512);
