-- AlterTable: the last change a customer can see, for existing tickets their updated_at
ALTER TABLE "tickets" ADD COLUMN "public_updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP;
UPDATE "tickets" SET "public_updated_at" = "updated_at";

-- CreateIndex
CREATE INDEX "tickets_customer_id_public_updated_at_idx" ON "tickets"("customer_id", "public_updated_at");
