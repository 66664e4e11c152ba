-- A change that read a row without locking it writes that row first in its last
-- statement, on a condition that the row is as it was read (domain/change.ts, guard).
-- The statement passes what that write returned through this function: when it found
-- no row, the whole statement fails as a serialization failure, so nothing of the
-- change is written, and the change runs again locking what it reads.
-- (The body spells its statement separators as \073: the migration runner splits
-- scripts at every literal separator character.)
CREATE FUNCTION "ticketql_guarded"(written json) RETURNS json LANGUAGE plpgsql AS E'BEGIN
  IF written IS NULL THEN
    RAISE EXCEPTION \'the row changed since it was read\' USING ERRCODE = \'serialization_failure\'\073
  END IF\073
  RETURN written\073
END';
