import type pg from 'pg';

/**
 * At most one run of a source at a time, fleet-wide: a Postgres session advisory lock held on its
 * own connection for the whole run. A worker that dies loses its connection, and so the lock.
 */
export async function tryRunLock(pool: pg.Pool, schema: string, pipeline: string, source: string): Promise<(() => Promise<void>) | null> {
  const c = await pool.connect();
  const args = [`tessera-source:${schema}`, `${pipeline}/${source}`];
  try {
    const { rows } = await c.query('SELECT pg_try_advisory_lock(hashtext($1), hashtext($2)) AS ok', args);
    if (!rows[0].ok) {
      c.release();
      return null;
    }
  } catch (e) {
    c.release();
    throw e;
  }
  return async () => {
    try {
      await c.query('SELECT pg_advisory_unlock(hashtext($1), hashtext($2))', args);
      c.release();
    } catch {
      c.release(true); // a broken connection is dropped, which releases the lock too
    }
  };
}
