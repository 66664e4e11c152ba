-- Full-text search. Each team chooses its text search configuration (simple by
-- default, english, german, ...), and each searchable text keeps its tsvector in a
-- column that a trigger computes in the statement that writes the row, so every write
-- path (Prisma, hand-written SQL, merges, a team changing its language) keeps it
-- current in the same transaction. A generated column cannot be used: the
-- configuration is the team's, in another table.
ALTER TABLE "teams" ADD COLUMN "search_config" TEXT NOT NULL DEFAULT 'simple';

ALTER TABLE "tickets" ADD COLUMN "title_tsv" tsvector;
ALTER TABLE "messages" ADD COLUMN "body_tsv" tsvector;
ALTER TABLE "customers" ADD COLUMN "search_tsv" tsvector;

-- The function bodies spell their statement separators as the escape \073: the
-- migration runner splits scripts at every literal separator character.
CREATE FUNCTION "tickets_title_tsv"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  NEW.title_tsv := to_tsvector((SELECT search_config FROM teams WHERE id = NEW.team_id)::regconfig, NEW.title)\073
  RETURN NEW\073
END';
CREATE TRIGGER "tickets_title_tsv" BEFORE INSERT OR UPDATE OF "title" ON "tickets"
  FOR EACH ROW EXECUTE FUNCTION "tickets_title_tsv"();

CREATE FUNCTION "messages_body_tsv"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  NEW.body_tsv := to_tsvector((SELECT tm.search_config FROM tickets t JOIN teams tm ON tm.id = t.team_id WHERE t.id = NEW.ticket_id)::regconfig, NEW.body)\073
  RETURN NEW\073
END';
CREATE TRIGGER "messages_body_tsv" BEFORE INSERT OR UPDATE OF "body" ON "messages"
  FOR EACH ROW EXECUTE FUNCTION "messages_body_tsv"();

CREATE FUNCTION "customers_search_tsv"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
  NEW.search_tsv := to_tsvector((SELECT search_config FROM teams WHERE id = NEW.team_id)::regconfig, coalesce(NEW.name, \'\') || \' \' || NEW.email)\073
  RETURN NEW\073
END';
CREATE TRIGGER "customers_search_tsv" BEFORE INSERT OR UPDATE OF "name", "email" ON "customers"
  FOR EACH ROW EXECUTE FUNCTION "customers_search_tsv"();

-- Existing rows: setting the column to itself fires the triggers.
UPDATE "tickets" SET "title" = "title";
UPDATE "messages" SET "body" = "body";
UPDATE "customers" SET "name" = "name";

-- Direct GIN inserts, as for the trigram indexes (see 20261201090000): a pending list
-- is scanned in full by every search until VACUUM merges it.
CREATE INDEX "tickets_title_tsv_idx" ON "tickets" USING GIN ("title_tsv") WITH (fastupdate = off);
CREATE INDEX "messages_body_tsv_idx" ON "messages" USING GIN ("body_tsv") WITH (fastupdate = off);
CREATE INDEX "customers_search_tsv_idx" ON "customers" USING GIN ("search_tsv") WITH (fastupdate = off);

-- Merging: a merged ticket points at the ticket it was merged into.
ALTER TABLE "tickets" ADD COLUMN "merged_into_id" UUID;
ALTER TABLE "tickets" ADD CONSTRAINT "tickets_merged_into_id_fkey" FOREIGN KEY ("merged_into_id") REFERENCES "tickets"("id") ON DELETE SET NULL ON UPDATE CASCADE;
CREATE INDEX "tickets_merged_into_id_idx" ON "tickets"("merged_into_id");

ALTER TYPE "TicketEventType" ADD VALUE 'MERGED';

-- Bulk updates by filter: the tickets chosen when the request came, worked through by
-- a job, with its progress.
CREATE TABLE "bulk_jobs" (
    "id" UUID NOT NULL,
    "team_id" UUID NOT NULL,
    "viewer" JSONB NOT NULL,
    "patch" JSONB NOT NULL,
    "ticket_ids" UUID[] NOT NULL,
    "total" INTEGER NOT NULL,
    "done" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "errors" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "bulk_jobs_pkey" PRIMARY KEY ("id")
);
CREATE INDEX "bulk_jobs_team_id_created_at_idx" ON "bulk_jobs"("team_id", "created_at");
ALTER TABLE "bulk_jobs" ADD CONSTRAINT "bulk_jobs_team_id_fkey" FOREIGN KEY ("team_id") REFERENCES "teams"("id") ON DELETE CASCADE ON UPDATE CASCADE;
