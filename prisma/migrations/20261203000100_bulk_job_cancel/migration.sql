-- A bulk update by filter can be cancelled: the job stops before its next ticket.
ALTER TABLE "bulk_jobs" ADD COLUMN "cancelled_at" TIMESTAMPTZ(3);
