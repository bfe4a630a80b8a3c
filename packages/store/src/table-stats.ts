import type pg from 'pg';
import type { CatalogTable } from './catalog';
import { withTx } from './db';

/** Rows a process writes to a table between two looks at its size. */
const CHECK_EVERY_ROWS = 2_000;
/** Smaller tables plan well without statistics. */
const MIN_ROWS = 1_000;
/** Statistics are refreshed when the table has grown this many times over since they were taken. */
const GROWTH = 2;

/**
 * Keeps the planner's statistics of the physical tables in step with fast writes. A young table
 * filled faster than autovacuum looks (it wakes once a minute) has none, and then Postgres plans
 * the per-version queries (pending cells, export scans: `_v_min = v AND _v_max IS NULL`) as a
 * BitmapAnd with the whole partial primary-key index, so every version reads every live row: 4-6
 * ms a query at 80,000 rows, growing with the table, several times per version.
 *
 * After every few thousand rows a process writes to a table, it compares the table's live rows
 * with what the planner last counted, and when the table is new or has doubled since, analyzes its
 * version columns in the background: a small sample (3,000 rows, about 8 ms at 120,000 rows rather
 * than 160 ms for a full ANALYZE), SKIP_LOCKED so that one worker's pass is enough. A partial
 * ANALYZE leaves autovacuum's counter as it was, so autovacuum still analyzes the whole table later.
 */
export class TableStats {
  private readonly written = new Map<string, number>();
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly pool: pg.Pool) {}

  /** `rows` were written to `table`: maybe refresh its statistics, without holding up the caller. */
  noteWrite(table: CatalogTable, rows: number): void {
    if (rows <= 0) return;
    const n = (this.written.get(table.physical) ?? 0) + rows;
    if (n < CHECK_EVERY_ROWS || this.running.has(table.physical)) {
      this.written.set(table.physical, n);
      return;
    }
    this.written.set(table.physical, 0);
    const run = this.refresh(table.physical).then(
      () => undefined,
      () => undefined, // statistics are an optimization: the next check tries again
    );
    this.running.set(table.physical, run);
    void run.finally(() => this.running.delete(table.physical));
  }

  /** Analyze the version columns of a table (schema-qualified and quoted) if the planner's count of it is missing or stale; true when it did. */
  async refresh(physical: string): Promise<boolean> {
    const { rows } = await this.pool.query(
      `SELECT s.n_live_tup::float8 AS live, c.reltuples::float8 AS counted
       FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid WHERE c.oid = $1::regclass`,
      [physical],
    );
    const s = rows[0] as { live: number; counted: number } | undefined;
    // reltuples is -1 (0 before Postgres 14) until a table is first analyzed or vacuumed
    if (!s || s.live < MIN_ROWS || (s.counted > 0 && s.live < GROWTH * s.counted)) return false;
    await withTx(this.pool, async (c) => {
      await c.query('SET LOCAL default_statistics_target = 10');
      await c.query(`ANALYZE (SKIP_LOCKED) ${physical} (_rowid, _v_min, _v_max)`);
    });
    return true;
  }

  /** Wait for the analyses under way (closing the pool under one would fail it). */
  async settle(): Promise<void> {
    await Promise.all(this.running.values());
  }
}
