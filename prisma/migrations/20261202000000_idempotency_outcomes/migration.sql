-- What each mutation field of a keyed request returned, written in the same transaction
-- as the mutation's own writes: a row exists exactly when something committed, so a
-- retry after a crash or a lost answer replays instead of writing again.
ALTER TABLE "idempotency_records" ADD COLUMN "outcome" JSONB;
