/*
  Warnings:

  - A unique constraint covering the columns `[team_id,seq]` on the table `ticket_events` will be added. If there are existing duplicate values, this will fail.

*/
-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- DropIndex
DROP INDEX "ticket_events_seq_key";

-- DropIndex
DROP INDEX "ticket_events_team_id_seq_idx";

-- AlterTable
ALTER TABLE "teams" ADD COLUMN     "event_seq" BIGINT NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "ticket_events" ALTER COLUMN "seq" DROP DEFAULT;
DROP SEQUENCE "ticket_events_seq_seq";

-- CreateIndex
CREATE UNIQUE INDEX "ticket_events_team_id_seq_key" ON "ticket_events"("team_id", "seq");
