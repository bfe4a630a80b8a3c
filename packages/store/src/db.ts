import pg from 'pg';

/** What a statement runner needs of a pg Pool or client: rows, and for writes how many rows they touched. */
export interface Queryable {
  query(text: string, params?: unknown[]): Promise<{ rows: Array<Record<string, unknown>>; rowCount?: number | null }>;
}

/**
 * A pool whose bigint and numeric values come back as JS numbers (row ids and counts stay far
 * below 2^53), configured per pool rather than by mutating pg's global parsers.
 */
export function createPool(url: string, max = 10): pg.Pool {
  const types = {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      if (oid === 20 || oid === 1700) return (v: string) => Number(v);
      if (oid === 1016) return (v: string) => (pg.types.getTypeParser(1016 as never, 'text') as (s: string) => string[])(v).map(Number);
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const pool = new pg.Pool({ connectionString: url, max, types: types as pg.CustomTypesConfig });
  // an idle client losing its connection must not crash the process
  pool.on('error', () => {});
  // nor a checked-out one (a transaction between two statements when the server restarts, 57P01):
  // pg emits 'error' on the client and only the pool's idle clients have a listener. The statement
  // in flight still rejects, and the pool drops the broken client when it is released.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/**
 * A deadlock (40P01) or serialization failure (40001): Postgres rolled the transaction back, and
 * running it again is safe. Writes of a producer and cell writes of workers touch the same rows in
 * no common order, so under load two of them can deadlock now and then.
 */
export const isRetryableConflict = (e: unknown): boolean => ['40P01', '40001'].includes(String((e as { code?: unknown })?.code ?? ''));

/** Run `fn` in a transaction; one that lost a deadlock is run again (a few times), as Postgres rolled it back whole. */
export async function withTx<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await withTxOnce(pool, fn);
    } catch (e) {
      if (!isRetryableConflict(e) || attempt >= 5) throw e;
      await new Promise((r) => setTimeout(r, 20 * attempt * (1 + Math.random())));
    }
  }
}

async function withTxOnce<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  let broken: Error | undefined;
  try {
    await c.query('BEGIN');
    const r = await fn(c);
    await c.query('COMMIT');
    return r;
  } catch (e) {
    // a client that cannot even roll back lost its connection: destroy it rather than pool it
    await c.query('ROLLBACK').catch((err: Error) => (broken = err));
    throw e;
  } finally {
    c.release(broken);
  }
}
