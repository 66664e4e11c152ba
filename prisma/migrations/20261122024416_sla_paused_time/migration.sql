-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- AlterTable
ALTER TABLE "tickets" ADD COLUMN     "sla_paused_ms" INTEGER NOT NULL DEFAULT 0;
