import type pg from 'pg';
import type { CatalogTable } from './catalog';
import { ident } from './sql';
import { relationOf, type BaseRows } from './relation';

/** A row as shipped to an export: its exported columns (or only its key), by name. */
export type ExportRow = Record<string, unknown>;

const CHUNK = 2000;

/** Which live rows a scan reads: every one, or only the row versions one table version wrote, or only rows in rowid ranges. */
export interface LiveScope {
  /** only rows written by this version (an insert, update or upsert); all live rows when absent */
  writtenBy?: number;
  /** only rows in these rowid ranges (what a reconcile computed) */
  ranges?: Array<{ lo: number; hi: number }>;
}

/**
 * What an export reads of the record, a chunk at a time (keyset pagination, so a large table never
 * sits in memory), a view's rows with their inherited columns. `complete` names the exported
 * columns whose cells must not be pending for a row to be shipped (held rows wait for a later ship).
 */
export class ExportScans {
  constructor(private readonly db: pg.Pool) {}

  /** Live rows whose `complete` cells all have a value or an error. */
  async *rows(table: CatalogTable, columns: string[], complete: string[], scope: LiveScope = {}): AsyncGenerator<ExportRow[]> {
    const done = completeCondition(table, complete);
    const span = scope.writtenBy === undefined ? undefined : await this.versionSpan(table, scope.writtenBy);
    if (span && !span.n) return;
    if (span && span.n > CHUNK && span.hi - span.lo + 1 <= (span.n * span.n) / CHUNK) {
      // A version of many chunks, read along the rowid key from its first row to its last. Its own
      // index would serve each chunk by reading the whole version and sorting it (quadratic in its
      // size), and the planner takes that index whenever its statistics predate the version, which
      // they do right after a large write: 130 ms a chunk at 100,000 rows, against 2 ms. An insert's
      // rows are consecutive; an update's are spread over the rowids it changed, and walking that
      // span is chosen only while it costs no more than the version index would.
      const byKey = `${live({ ...scope, writtenBy: undefined })} AND t0._v_min + 0 = ${Number(scope.writtenBy)} AND t0._rowid <= ${span.hi}`;
      yield* this.scan(table, columns, `${byKey} AND ${done}`, { mode: 'live' }, span.lo - 1);
      return;
    }
    yield* this.scan(table, columns, `${live(scope)} AND ${done}`, { mode: 'live' });
  }

  /** Where a version's live rows lie: the first and last rowid and how many (one pass over its index). */
  private async versionSpan(table: CatalogTable, version: number): Promise<{ lo: number; hi: number; n: number }> {
    const { rows } = await this.db.query(
      `SELECT min(_rowid) AS lo, max(_rowid) AS hi, count(*)::int AS n FROM ${table.physical} WHERE _v_max IS NULL AND _v_min = $1`,
      [version],
    );
    return { lo: Number(rows[0].lo), hi: Number(rows[0].hi), n: rows[0].n };
  }

  /** How many live rows are held back: a `complete` cell of theirs is still pending. */
  async held(table: CatalogTable, complete: string[], scope: LiveScope = {}): Promise<number> {
    const done = completeCondition(table, complete);
    if (done === 'true') return 0;
    const rel = relationOf(table, { mode: 'live' });
    const { rows } = await this.db.query(`SELECT count(*)::int AS n FROM ${rel.from} WHERE ${live(scope)} AND NOT (${done})`);
    return rows[0].n;
  }

  /** The key of every live row (complete or not). */
  liveKeys(table: CatalogTable, key: string[]): AsyncGenerator<ExportRow[]> {
    return this.scan(table, key, 't0._v_max IS NULL', { mode: 'live' });
  }

  /**
   * Keys of rows retired (deleted) that no live row holds: those `retiredBy` one version retired and
   * no later version wrote again (a delete then a re-insert is live), or all of them when absent.
   */
  async *retiredKeys(table: CatalogTable, key: string[], retiredBy?: number): AsyncGenerator<ExportRow[]> {
    const gone = `NOT EXISTS (SELECT 1 FROM ${table.physical} n WHERE n._rowid = t0._rowid AND n._v_max IS NULL)`;
    if (retiredBy === undefined) {
      yield* this.scan(table, key, `t0._v_max IS NOT NULL AND ${gone}`, { mode: 'latest' });
      return;
    }
    for await (const keys of this.scan(table, key, `t0._v_max = ${Number(retiredBy)} AND ${gone}`, { mode: 'latest' })) {
      yield await this.notLiveSince(table, key, keys, retiredBy);
    }
  }

  /** The keys among `keys` that no live row written after `version` holds. */
  private async notLiveSince(table: CatalogTable, key: string[], keys: ExportRow[], version: number): Promise<ExportRow[]> {
    if (!keys.length) return keys;
    const rel = relationOf(table, { mode: 'live' });
    const tuple = `jsonb_build_array(${key.map((k) => rel.col(k)).join(', ')})`;
    const asJson = (r: ExportRow) => JSON.stringify(key.map((k) => r[k]));
    const { rows } = await this.db.query(
      `SELECT u.i::int AS i FROM unnest($1::jsonb[]) WITH ORDINALITY AS u(k, i)
        WHERE NOT EXISTS (SELECT 1 FROM ${rel.from} WHERE t0._v_max IS NULL AND t0._v_min > ${Number(version)} AND ${tuple} = u.k)`,
      [keys.map(asJson)],
    );
    return rows.map((r) => keys[r.i - 1]!);
  }

  private async *scan(table: CatalogTable, columns: string[], where: string, baseRows: BaseRows, after = -1): AsyncGenerator<ExportRow[]> {
    const rel = relationOf(table, baseRows);
    const select = [...new Set(columns)].map((c) => `${rel.col(c)} AS ${ident(c)}`).join(', ');
    // a rowid has one live row version, so live rows come in key order as they are; retired versions
    // of one rowid can be several, and the latest is taken (DISTINCT ON, which needs a sort)
    const pick = baseRows.mode === 'live' ? '' : 'DISTINCT ON (t0._rowid) ';
    const order = baseRows.mode === 'live' ? 't0._rowid' : 't0._rowid, t0._v_min DESC';
    for (;;) {
      const { rows } = await this.db.query(
        `SELECT ${pick}t0._rowid AS "__rowid", ${select} FROM ${rel.from} WHERE ${where} AND t0._rowid > $1 ORDER BY ${order} LIMIT ${CHUNK}`,
        [after],
      );
      if (!rows.length) return;
      after = rows[rows.length - 1].__rowid;
      yield rows.map(({ __rowid: _, ...r }) => r);
    }
  }
}

function live(scope: LiveScope): string {
  const where = ['t0._v_max IS NULL'];
  if (scope.writtenBy !== undefined) where.push(`t0._v_min = ${Number(scope.writtenBy)}`);
  if (scope.ranges) where.push(`(${scope.ranges.map((r) => `t0._rowid BETWEEN ${Number(r.lo)} AND ${Number(r.hi)}`).join(' OR ') || 'false'})`);
  return where.join(' AND ');
}

/** SQL that is true when every computed cell among `columns` has a value or an error (none pending). */
function completeCondition(table: CatalogTable, columns: string[]): string {
  const rel = relationOf(table, { mode: 'live' });
  const computed = columns.filter((c) => rel.column(c)?.computed);
  return computed.length ? computed.map((c) => `${rel.status(c)} IS NOT NULL`).join(' AND ') : 'true';
}
