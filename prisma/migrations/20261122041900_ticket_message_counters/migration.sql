-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- AlterTable
ALTER TABLE "tickets" ADD COLUMN     "message_count" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "public_message_count" INTEGER NOT NULL DEFAULT 0;

-- Backfill the counters of existing tickets.
UPDATE "tickets" t SET
  "message_count" = (SELECT count(*) FROM "messages" m WHERE m."ticket_id" = t."id"),
  "public_message_count" = (SELECT count(*) FROM "messages" m WHERE m."ticket_id" = t."id" AND NOT m."is_internal");
