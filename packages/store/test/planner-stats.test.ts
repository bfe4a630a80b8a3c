import pg from 'pg';
import { Store } from '../src';
import { findRequests } from '../src/requests';
import { loadBatch } from '../src/cells';
import { ExportScans } from '../src/export-scans';
import { SourceStates } from '../src/sources/source-state';
import { DATABASE_URL, closeStore, openStore, plan } from './store-kit';

/**
 * Plans that must not depend on the statistics a young table lacks: a stream fills tables faster
 * than autovacuum looks at them, and the commit and per-version queries then read whole tables.
 */
let store: Store;
let db: pg.Client;
let schema: string;
beforeEach(async () => {
  store = await openStore();
  await store.apply(plan);
  schema = (store as unknown as { schema: string }).schema;
  db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
});
afterEach(async () => {
  await db.end();
  await closeStore(store);
});

const rows = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ id: from + i, body: `row ${from + i}`, tag: null }));
const counted = async (physical: string) => Number((await db.query(`SELECT reltuples FROM pg_class WHERE oid = $1::regclass`, [physical])).rows[0].reltuples);

test('a table written fast gets statistics from the store, and its per-version scans then use the version index alone', async () => {
  const docs = await store.table('lib', 'docs');
  // autovacuum must not be the one to analyze it here
  await db.query(`ALTER TABLE ${docs.physical} SET (autovacuum_enabled = false)`);
  for (let i = 0; i < 3; i++) await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(i * 1000, 1000) }]);
  // a closing connection hands its counters to the statistics system (a live one does so within seconds)
  await store.close();
  store = await Store.open({ url: DATABASE_URL, schema, poolSize: 4 });
  await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(3000, 2000) }]);
  await store.close(); // waits for the analysis it started
  store = await Store.open({ url: DATABASE_URL, schema, poolSize: 4 });

  expect(await counted(docs.physical)).toBeGreaterThan(0); // -1: never analyzed
  const { rows: nulls } = await db.query(`SELECT null_frac FROM pg_stats WHERE schemaname = $1 AND attname = '_v_max' AND tablename LIKE '%docs'`, [schema]);
  expect(nulls[0]?.null_frac).toBe(1);
  const { rows: v } = await db.query(`SELECT max(_v_min) AS v FROM ${docs.physical}`);
  expect(await explain(docs.physical, v[0].v)).not.toContain('BitmapAnd');
});

test("a stage's batch reads its rowid range only, even when the statistics predate its version", async () => {
  const docs = await store.table('lib', 'docs');
  // as a growing table is between two analyses: analyzed after its first versions, then an insert
  // the statistics know nothing of (its version is not among their values, so looks rare), too
  // small to have the store analyze it again (the table has not doubled)
  await db.query(`ALTER TABLE ${docs.physical} SET (autovacuum_enabled = false)`);
  for (let i = 0; i < 2; i++) await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(i * 4000, 4000) }]);
  await db.query(`ANALYZE ${docs.physical}`);
  const [big] = (await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(8000, 6000) }])).outcomes;
  const version = (big as { version: number }).version;
  const { rows: span } = await db.query(`SELECT min(_rowid)::int AS lo FROM ${docs.physical} WHERE _v_min = $1`, [version]);
  const lo = span[0].lo + 2000;
  // rows the table gave this connection so far (pending counters include earlier statements)
  const reads = async () =>
    Number((await db.query(`SELECT idx_tup_fetch + seq_tup_read AS n FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, [docs.physical])).rows[0].n);
  await db.query('BEGIN');
  try {
    const before = await reads();
    const batch = await loadBatch(db as unknown as pg.Pool, docs, ['loud'], { lo, hi: lo + 999, vMin: version });
    expect(batch.map((r) => Number(r.rowid))).toEqual(Array.from({ length: 1000 }, (_, i) => lo + i));
    // read for it: about the batch's 1,000 rows (1,002 here), not the version's 6,000 (6,002 with the version index)
    expect((await reads()) - before).toBeLessThan(1100);
  } finally {
    await db.query('ROLLBACK');
  }
});

test("an export's scan of a large version reads each of its rows twice at most, not once per chunk, even when the statistics predate it", async () => {
  const docs = await store.table('lib', 'docs');
  // as in the test above: statistics taken after the first versions, then a version they know nothing of
  await db.query(`ALTER TABLE ${docs.physical} SET (autovacuum_enabled = false)`);
  for (let i = 0; i < 2; i++) await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(i * 4000, 4000) }]);
  await db.query(`ANALYZE ${docs.physical}`);
  const ROWS = 20_000; // ten chunks of 2,000
  const [big] = (await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(8000, ROWS) }])).outcomes;
  const version = (big as { version: number }).version;
  const reads = async () =>
    Number((await db.query(`SELECT idx_tup_fetch + seq_tup_read AS n FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, [docs.physical])).rows[0].n);
  await db.query('BEGIN');
  try {
    const before = await reads();
    const ids: number[] = [];
    for await (const chunk of new ExportScans(db as unknown as pg.Pool).rows(docs, ['id', 'body'], [], { writtenBy: version })) {
      for (const r of chunk) ids.push(Number(r.id));
    }
    // every row of the version once, in key order, and nothing else
    expect(ids).toEqual(Array.from({ length: ROWS }, (_, i) => 8000 + i));
    // read for it: the version once to find where it lies, once more in chunks (about 40,000); through
    // the version index each chunk read the whole version again (about 210,000)
    expect((await reads()) - before).toBeLessThan(2.5 * ROWS);
  } finally {
    await db.query('ROLLBACK');
  }
});

test("an export's scan of a large version stays linear when the statistics know it too", async () => {
  const docs = await store.table('lib', 'docs');
  await db.query(`ALTER TABLE ${docs.physical} SET (autovacuum_enabled = false)`);
  for (let i = 0; i < 2; i++) await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(i * 4000, 4000) }]);
  const ROWS = 20_000;
  const [big] = (await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(8000, ROWS) }])).outcomes;
  const version = (big as { version: number }).version;
  // statistics taken after the version: its rowids are inside their histogram
  await db.query(`ANALYZE ${docs.physical}`);
  const reads = async () =>
    Number((await db.query(`SELECT idx_tup_fetch + seq_tup_read AS n FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, [docs.physical])).rows[0].n);
  await db.query('BEGIN');
  try {
    const before = await reads();
    const ids: number[] = [];
    for await (const chunk of new ExportScans(db as unknown as pg.Pool).rows(docs, ['id'], [], { writtenBy: version }))
      ids.push(...chunk.map((r) => Number(r.id)));
    expect(ids).toEqual(Array.from({ length: ROWS }, (_, i) => 8000 + i));
    expect((await reads()) - before).toBeLessThan(2.5 * ROWS);
  } finally {
    await db.query('ROLLBACK');
  }
});

test("an export's scan of the keys a large delete retired reads each of them a few times, not once per chunk, even when the statistics predate it", async () => {
  const docs = await store.table('lib', 'docs');
  await db.query(`ALTER TABLE ${docs.physical} SET (autovacuum_enabled = false)`);
  for (let i = 0; i < 2; i++) await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(i * 4000, 4000) }]);
  const ROWS = 20_000; // ten chunks of 2,000
  await store.commitGroup('lib', 'docs', 'insert', [{ rows: rows(8000, ROWS) }]);
  // statistics from before the delete: no row retired yet
  await db.query(`ANALYZE ${docs.physical}`);
  const ids = Array.from({ length: ROWS }, (_, i) => 8000 + i);
  const [gone] = (await store.commitGroup('lib', 'docs', 'delete', [{ rows: ids.map((id) => ({ id })) }])).outcomes;
  const version = (gone as { version: number }).version;
  const reads = async () =>
    Number((await db.query(`SELECT idx_tup_fetch + seq_tup_read AS n FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, [docs.physical])).rows[0].n);
  await db.query('BEGIN');
  try {
    const before = await reads();
    const keys: number[] = [];
    for await (const chunk of new ExportScans(db as unknown as pg.Pool).retiredKeys(docs, ['id'], version)) keys.push(...chunk.map((r) => Number(r.id)));
    expect(keys).toEqual(ids);
    // the retired rows found once, read once more in chunks, and each probed for a live version
    // (about 60,000); through the `_v_max` index each chunk read all 20,000 retired rows again
    expect((await reads()) - before).toBeLessThan(4 * ROWS);
  } finally {
    await db.query('ROLLBACK');
  }
});

test('looking up request ids probes the key index, even in a table grown far past its statistics', async () => {
  const docs = await store.table('lib', 'docs');
  const add = (from: number, to: number) =>
    db.query(
      `INSERT INTO "${schema}".requests (table_id, request_id, version, op, count) SELECT $1, 'job:' || g, 1 + g / 500, 'insert', 1 FROM generate_series($2::int, $3::int) g`,
      [docs.id, from, to],
    );
  // as autovacuum leaves it: analyzed while small, then a stream adds 60,000 requests before it looks again
  await db.query(`ALTER TABLE "${schema}".requests SET (autovacuum_enabled = false)`);
  await add(1, 20);
  await db.query(`ANALYZE "${schema}".requests`);
  await add(21, 60_000);
  const ids = [...Array.from({ length: 400 }, (_, i) => `job:${100_000 + i}`), 'job:7', 'job:59999'];
  await db.query('BEGIN');
  try {
    const found = await findRequests(db as unknown as pg.PoolClient, schema, docs.id, ids);
    expect([...found.keys()].sort()).toEqual(['job:59999', 'job:7']);
    const { rows: scans } = await db.query(`SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, [`"${schema}".requests`]);
    expect(Number(scans[0].seq_scan)).toBe(0);
  } finally {
    await db.query('ROLLBACK');
  }
});

test("a listing source's seen files are looked up one key each, even while a first listing grows the table past its statistics", async () => {
  const add = (from: number, to: number) =>
    db.query(
      `INSERT INTO "${schema}".source_items (pipeline, name, key, fingerprint, seen_run) SELECT 'lib', 'bucket', 'docs/' || g || '.pdf', 'etag:' || g, 1 FROM generate_series($1::int, $2::int) g`,
      [from, to],
    );
  await db.query(`ALTER TABLE "${schema}".source_items SET (autovacuum_enabled = false)`);
  await add(1, 20);
  await db.query(`ANALYZE "${schema}".source_items`);
  await add(21, 60_000);
  // a connection of its own: the scan counters it reads are those of its own statements
  const own = new pg.Client({ connectionString: DATABASE_URL });
  await own.connect();
  try {
    await own.query('BEGIN');
    const sources = new SourceStates(own as unknown as pg.Pool, schema);
    const keys = [...Array.from({ length: 400 }, (_, i) => `docs/new-${i}.pdf`), 'docs/7.pdf', 'docs/59999.pdf'];
    const seen = await sources.fingerprints('lib', 'bucket', keys);
    expect([...seen]).toEqual(
      expect.arrayContaining([
        ['docs/7.pdf', 'etag:7'],
        ['docs/59999.pdf', 'etag:59999'],
      ]),
    );
    expect(seen.size).toBe(2);
    const { rows: scans } = await own.query(`SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, [`"${schema}".source_items`]);
    expect(Number(scans[0].seq_scan)).toBe(0);
  } finally {
    await own.end();
  }
});

/** The plan of a per-version scan of live rows (as the pending and export queries make). */
async function explain(physical: string, version: number): Promise<string> {
  const { rows } = await db.query(`EXPLAIN SELECT count(*) FROM ${physical} WHERE _v_max IS NULL AND _v_min = ${Number(version)}`);
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}
