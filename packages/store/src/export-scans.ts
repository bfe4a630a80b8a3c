import type pg from 'pg';
import type { CatalogTable } from './catalog';
import { ident } from './sql';
import { relationOf, type BaseRows } from './relation';
import { DEFAULT_BATCH_BYTES, storedSize } from './stored-size';

/** A row as shipped to an export: its exported columns (or only its key), by name. */
export type ExportRow = Record<string, unknown>;

const CHUNK = 2000;

/** Where one version's row versions lie: first and last rowid, and how many. */
interface Span {
  lo: number;
  hi: number;
  n: number;
}

/** Which live rows a scan reads: every one, or only the row versions one table version wrote, or only rows in rowid ranges. */
export interface LiveScope {
  /** only rows written by this version (an insert, update or upsert); all live rows when absent */
  writtenBy?: number;
  /** only rows in these rowid ranges (what a reconcile computed) */
  ranges?: Array<{ lo: number; hi: number }>;
}

/**
 * What an export reads of the record, a chunk at a time (keyset pagination, so a large table never
 * sits in memory; a chunk is at most CHUNK rows and about `chunkBytes` of text, JSON and arrays), a
 * view's rows with their inherited columns. `complete` names the exported columns whose cells must
 * not be pending for a row to be shipped (held rows wait for a later ship).
 */
export class ExportScans {
  constructor(
    private readonly db: pg.Pool,
    private readonly chunkBytes = DEFAULT_BATCH_BYTES,
  ) {}

  /** Live rows whose `complete` cells all have a value or an error. */
  async *rows(table: CatalogTable, columns: string[], complete: string[], scope: LiveScope = {}): AsyncGenerator<ExportRow[]> {
    const done = completeCondition(table, complete);
    if (scope.writtenBy === undefined) {
      yield* this.scan(table, columns, `${live(scope)} AND ${done}`, { mode: 'live' });
      return;
    }
    const span = await this.versionSpan(table, '_v_min', scope.writtenBy);
    const others = live({ ...scope, writtenBy: undefined });
    yield* this.versionScan(table, columns, span, `${others} AND t0._v_min + 0 = ${Number(scope.writtenBy)} AND ${done}`, `${live(scope)} AND ${done}`);
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
    const span = await this.versionSpan(table, '_v_max', retiredBy);
    // coalesce, not `+ 0`: a strict expression would let Postgres read the partial `_v_max` index (every retired row)
    const byKey = `coalesce(t0._v_max, 0) = ${Number(retiredBy)} AND ${gone}`;
    for await (const keys of this.versionScan(table, key, span, byKey, `t0._v_max = ${Number(retiredBy)} AND ${gone}`, { mode: 'latest' })) {
      yield await this.notLiveSince(table, key, keys, retiredBy);
    }
  }

  /**
   * Where the row versions a version wrote (`_v_min`, live ones) or retired (`_v_max`) lie: the
   * first and last rowid and how many (one pass over that column's index).
   */
  private async versionSpan(table: CatalogTable, by: '_v_min' | '_v_max', version: number): Promise<Span> {
    const where = by === '_v_min' ? '_v_max IS NULL AND _v_min = $1' : '_v_max = $1';
    const { rows } = await this.db.query(`SELECT min(_rowid) AS lo, max(_rowid) AS hi, count(*)::int AS n FROM ${table.physical} WHERE ${where}`, [version]);
    return { lo: Number(rows[0].lo), hi: Number(rows[0].hi), n: rows[0].n };
  }

  /**
   * The row versions one version wrote or retired, in chunks. A version of several chunks is read
   * along the rowid key, window by window from its first row to its last (`byKey`, which must not
   * name the version's own index): through that index Postgres read and sorted the whole version for
   * every chunk (quadratic in its size), and it takes that index whenever its statistics predate the
   * version, as they do right after a large write (130 ms a chunk at 100,000 rows, against 2 ms). A
   * window spans about a chunk's worth of the version's rows at their average density, so each
   * query is a short range of the primary key whatever the statistics say. An insert's rows are
   * consecutive; an update's or a delete's are spread over the rowids it touched, and walking that
   * span is chosen only while it costs no more than the version's index would (`byIndex`).
   */
  private async *versionScan(
    table: CatalogTable,
    columns: string[],
    span: Span,
    byKey: string,
    byIndex: string,
    baseRows: BaseRows = { mode: 'live' },
  ): AsyncGenerator<ExportRow[]> {
    if (!span.n) return;
    const width = span.hi - span.lo + 1;
    if (span.n <= CHUNK || width > (span.n * span.n) / CHUNK) {
      yield* this.scan(table, columns, byIndex, baseRows);
      return;
    }
    const window = Math.max(CHUNK, Math.ceil((CHUNK * width) / span.n));
    for (let from = span.lo - 1; from < span.hi; from += window) {
      yield* this.scan(table, columns, `${byKey} AND t0._rowid <= ${Math.min(span.hi, from + window)}`, baseRows, from, false);
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

  /**
   * Rows after rowid `after`, in key order, a chunk at a time. `several`: a rowid may match several
   * row versions (retired ones), of which the latest is taken (DISTINCT ON, which needs a sort).
   * Otherwise rows come as they are: a rowid has one live row version, and one version retires one
   * version of a rowid but for a row it wrote and retired itself, of the same key (the repeat is skipped).
   */
  private async *scan(
    table: CatalogTable,
    columns: string[],
    where: string,
    baseRows: BaseRows,
    after: number | string = -1,
    several = baseRows.mode !== 'live',
  ): AsyncGenerator<ExportRow[]> {
    const rel = relationOf(table, baseRows);
    const select = [...new Set(columns)].map((c) => `${rel.col(c)} AS ${ident(c)}`).join(', ');
    const pick = several ? 'DISTINCT ON (t0._rowid) ' : '';
    const order = several ? 't0._rowid, t0._v_min DESC' : 't0._rowid';
    // a chunk also stops at its byte budget (rows of large documents): the rows whose predecessors
    // in it hold less, one at least (keys alone, the `several` scans, are never that large)
    const size = several ? null : storedSize(rel, [...new Set(columns)]);
    const query =
      size === null
        ? `SELECT ${pick}t0._rowid AS "__rowid", ${select} FROM ${rel.from} WHERE ${where} AND t0._rowid > $1 ORDER BY ${order} LIMIT ${CHUNK}`
        : `SELECT * FROM (
            SELECT t0._rowid AS "__rowid", ${select}, sum(${size}) OVER (ORDER BY t0._rowid ROWS UNBOUNDED PRECEDING) AS "__upto", ${size} AS "__bytes"
            FROM ${rel.from} WHERE ${where} AND t0._rowid > $1 ORDER BY ${order} LIMIT ${CHUNK}) c
          WHERE "__upto" - "__bytes" < ${Number(this.chunkBytes)} ORDER BY "__rowid"`;
    for (;;) {
      const { rows } = await this.db.query(query, [after]);
      const out: ExportRow[] = [];
      for (const { __rowid: rowid, __upto: _upto, __bytes: _, ...r } of rows) {
        if (String(rowid) !== String(after)) out.push(r);
        after = rowid;
      }
      const upto = rows.at(-1)?.__upto;
      const full = upto !== undefined && Number(upto) >= this.chunkBytes;
      if (out.length) yield out;
      // a chunk short of CHUNK rows is the last, unless its bytes stopped it
      if (rows.length < CHUNK && !full) return;
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
