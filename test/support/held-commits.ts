import pg from 'pg';

/** The record's commits, held mid-way by a transaction of the test's own (see holdCommits). */
export interface HeldCommits {
  /** commit groups now waiting, mid-transaction, to record their requests */
  waiting(): Promise<number>;
  /** make the record refuse the waiting commits (each statement cancelled, as a database may do): their groups fail as a whole; returns how many */
  refuseWaiting(): Promise<number>;
  /** let commits through again */
  release(): Promise<void>;
}

/**
 * Hold every ingest commit of a schema: a transaction takes its `requests` table in SHARE mode, so a
 * commit group writes its version and rows and then waits, inside its transaction, to record its
 * requests. The jobs of that group (and of the groups behind it) stay active in whoever holds them.
 */
export async function holdCommits(databaseUrl: string, schema: string): Promise<HeldCommits> {
  const blocker = new pg.Client({ connectionString: databaseUrl });
  // another connection watches pg_stat_activity: inside a transaction its view would not change
  const watcher = new pg.Client({ connectionString: databaseUrl });
  await Promise.all([blocker.connect(), watcher.connect()]);
  await blocker.query('BEGIN');
  await blocker.query(`LOCK TABLE "${schema}".requests IN SHARE MODE`);
  const waitingPids = `SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`;
  const pattern = [`INSERT INTO "${schema}".requests%`];
  return {
    async waiting() {
      return (await watcher.query(waitingPids, pattern)).rowCount ?? 0;
    },
    async refuseWaiting() {
      const { rows } = await watcher.query(`SELECT count(*) FILTER (WHERE pg_cancel_backend(pid))::int AS n FROM (${waitingPids}) w`, pattern);
      return rows[0].n as number;
    },
    async release() {
      await blocker.query('ROLLBACK').catch(() => undefined);
      await Promise.all([blocker.end(), watcher.end()]);
    },
  };
}
