// Faults injected into the suite's real PostgreSQL: a trigger that makes the
// database itself refuse one ticket insert with a given SQLSTATE.
import { randomUUID } from 'node:crypto';
import type { Db } from '../../src/db.js';

/**
 * Until the returned function is called, inserting a ticket titled `title` fails
 * with `sqlstate` (e.g. 57P03: the database is shutting down; XX000: internal
 * error) and `message`. Other tickets, of any test running alongside, insert as usual.
 */
export async function refuseTicketInsert(db: Db, title: string, sqlstate: string, message: string): Promise<() => Promise<void>> {
  const name = `refuse_${randomUUID().replaceAll('-', '_')}`;
  const literal = (text: string) => `'${text.replaceAll("'", "''")}'`;
  await db.$executeRawUnsafe(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.title = ${literal(title)} THEN RAISE EXCEPTION ${literal(message)} USING ERRCODE = ${literal(sqlstate)}; END IF;
      RETURN NEW;
    END $$`);
  await db.$executeRawUnsafe(`CREATE TRIGGER ${name} BEFORE INSERT ON tickets FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  return async () => {
    await db.$executeRawUnsafe(`DROP TRIGGER ${name} ON tickets`);
    await db.$executeRawUnsafe(`DROP FUNCTION ${name}()`);
  };
}
