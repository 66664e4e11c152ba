// How much of a write workload's time its transactions spend waiting for row locks,
// from pg_stat_activity sampled every 5 ms during the run: of the samples' database
// connections that were working (running a statement or inside a transaction), the
// share that waited for a lock, split by the statement that waited (the team row's
// event or ticket counter, or any other row, such as the ticket being written), and the
// share that sat idle inside a transaction: waiting for the server's next statement,
// which is time a transaction holding a lock keeps it for JavaScript.
import pg from 'pg';

export type LockShare = { samples: number; busy: number; waitingTeam: number; waitingOther: number; idleInTransaction: number };

/** pg_stat_activity's other connections of this database that run a statement or a transaction. */
export const WORKING_CONNECTIONS = `datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
  AND (state = 'active' OR state LIKE 'idle in transaction%')`;

export async function sampleLocks(databaseUrl: string): Promise<{ stop(): Promise<LockShare> }> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  const share: LockShare = { samples: 0, busy: 0, waitingTeam: 0, waitingOther: 0, idleInTransaction: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const { rows } = await client.query<{ busy: string; team: string; other: string; idle: string }>(`
        SELECT count(*) AS busy,
               count(*) FILTER (WHERE wait_event_type = 'Lock' AND query ILIKE '%UPDATE teams%') AS team,
               count(*) FILTER (WHERE wait_event_type = 'Lock' AND query NOT ILIKE '%UPDATE teams%') AS other,
               count(*) FILTER (WHERE state LIKE 'idle in transaction%') AS idle
        FROM pg_stat_activity WHERE ${WORKING_CONNECTIONS}`);
      share.samples++;
      share.busy += Number(rows[0]!.busy);
      share.waitingTeam += Number(rows[0]!.team);
      share.waitingOther += Number(rows[0]!.other);
      share.idleInTransaction += Number(rows[0]!.idle);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await client.end();
      return share;
    },
  };
}
