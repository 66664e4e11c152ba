-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- AlterTable
ALTER TABLE "ticket_events" ADD COLUMN     "customer_id" UUID,
ADD COLUMN     "is_internal" BOOLEAN NOT NULL DEFAULT false;

-- CreateIndex
CREATE INDEX "ticket_events_customer_id_seq_idx" ON "ticket_events"("customer_id", "seq");
