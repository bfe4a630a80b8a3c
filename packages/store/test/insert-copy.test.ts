import { definePipeline, planPipeline, t } from '@tessera/core';
import { Store } from '../src';
import pg from 'pg';
import { DATABASE_URL, closeStore, openStore } from './store-kit';

/** Inserts go in with COPY's text format: every kind of value must come back as it was written. */
let store: Store;
beforeEach(async () => {
  store = await openStore();
  await store.apply(
    planPipeline(
      definePipeline('kinds', (p) => {
        p.table('all', {
          id: t.int().primaryKey(),
          s: t.string().nullable(),
          f: t.float().nullable(),
          b: t.bool().nullable(),
          ts: t.timestamp().nullable(),
          j: t.json().nullable(),
          emb: t.embedding(3).nullable(),
          ints: t.array('int').nullable(),
          flags: t.array('bool').nullable(),
          words: t.array('string').nullable(),
          doc: t.document().nullable(),
        });
      }),
    ),
  );
});
afterEach(() => closeStore(store));

const tricky = 'tab\there, newline\nthere, CR\r, backslash \\ and \\N, quote " and \' , {braces}, comma, ünïcødé 🎉';

test('values with the characters COPY escapes, and every column kind, come back unchanged', async () => {
  const rows = [
    {
      id: 1,
      s: tricky,
      f: 0.1 + 0.2,
      b: true,
      ts: '2026-12-03T10:20:30.123Z',
      j: { text: tricky, n: [1, 2.5, null], nested: { ok: false } },
      emb: [0.5, -1.25, 3],
      ints: [9007199254740991, -3, 0],
      flags: [true, false],
      words: [tricky, '', 'NULL', 'a,b', '{x}', '"q"'],
      doc: 'file:///data/a b\\c.pdf',
    },
    { id: 2, s: '\\N', f: -0, b: false, ts: null, j: 'just a string', emb: null, ints: [], flags: null, words: [], doc: null },
    { id: 3, s: '', f: 1e300, b: null, ts: null, j: null, emb: null, ints: null, flags: null, words: null, doc: null },
  ];
  await store.insert('kinds', 'all', rows);
  const back = (await store.select('kinds', 'all', { orderBy: ['id'] })) as Array<Record<string, unknown>>;
  expect(back.map((r) => r.s)).toEqual([tricky, '\\N', '']);
  expect(back.map((r) => r.f)).toEqual([0.1 + 0.2, -0, 1e300]);
  expect(back.map((r) => r.b)).toEqual([true, false, null]);
  expect(new Date(back[0]!.ts as string).toISOString()).toBe('2026-12-03T10:20:30.123Z');
  expect(back[1]!.ts).toBeNull();
  expect(back.map((r) => r.j)).toEqual([{ text: tricky, n: [1, 2.5, null], nested: { ok: false } }, 'just a string', null]);
  expect(back[0]!.emb).toEqual([0.5, -1.25, 3]);
  expect(back.map((r) => r.ints)).toEqual([[9007199254740991, -3, 0], [], null]);
  expect(back[0]!.flags).toEqual([true, false]);
  expect(back.map((r) => r.words)).toEqual([[tricky, '', 'NULL', 'a,b', '{x}', '"q"'], [], null]);
  expect(back[0]!.doc).toBe('file:///data/a b\\c.pdf');
});

test('rows get ascending rowids in the order given, and a second insert continues after the first', async () => {
  await store.insert(
    'kinds',
    'all',
    Array.from({ length: 2500 }, (_, i) => ({ id: 2500 - i })),
  );
  await store.insert('kinds', 'all', [{ id: 9000 }, { id: 9001 }]);
  // rows are read back in rowid order
  const back = (await store.select('kinds', 'all', { columns: ['id'] })) as Array<{ id: number }>;
  expect(back.map((r) => r.id)).toEqual([...Array.from({ length: 2500 }, (_, i) => 2500 - i), 9000, 9001]);
});

test('a key that exists fails its request with E_DUPLICATE_KEY; the other requests of the group are written', async () => {
  await store.insert('kinds', 'all', [{ id: 1, s: 'first' }]);
  const { outcomes } = await store.commitGroup('kinds', 'all', 'insert', [
    { rows: [{ id: 2, s: 'two' }] },
    { rows: [{ id: 1, s: 'again' }] },
    { rows: [{ id: 3, s: tricky }] },
  ]);
  expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
  expect(outcomes[1]).toMatchObject({ ok: false, error: { code: 'E_DUPLICATE_KEY' } });
  const back = (await store.select('kinds', 'all', { columns: ['id', 's'], orderBy: ['id'] })) as Array<{ id: number; s: string }>;
  expect(back).toEqual([
    { id: 1, s: 'first' },
    { id: 2, s: 'two' },
    { id: 3, s: tricky },
  ]);
});

test('rows are checked as they are written: a request refused part way fails alone, the others share one version', async () => {
  const big = Array.from({ length: 10_000 }, (_, i) => ({ id: i + 1, s: `row ${i + 1} ${'x'.repeat(40)}` })); // past the first COPY write
  const { outcomes, commits } = await store.commitGroup('kinds', 'all', 'insert', [
    { rows: big },
    { rows: [{ id: 20_001, s: 'fine' }, { id: 20_002, f: 'not a number' }, { id: 20_003 }] },
    { rows: [{ id: 30_001, s: tricky }] },
  ]);
  expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
  expect(outcomes[1]).toMatchObject({ ok: false, error: { code: 'E_BAD_ROW', message: expect.stringContaining('row 2') } });
  expect(commits).toHaveLength(1);
  expect((outcomes[0] as { version: number }).version).toBe((outcomes[2] as { version: number }).version);
  const ids = ((await store.select('kinds', 'all', { columns: ['id'] })) as Array<{ id: number }>).map((r) => r.id);
  expect(ids).toHaveLength(10_001);
  expect(ids.filter((id) => id > 20_000)).toEqual([30_001]);
});

test('a group whose every request is refused by the checks writes no version', async () => {
  const { outcomes, commits } = await store.commitGroup('kinds', 'all', 'insert', [{ rows: [{ id: 'one' }] }, { rows: [{ s: 'no key' }] }]);
  expect(outcomes.map((o) => !o.ok && (o.error as { code?: string }).code)).toEqual(['E_BAD_ROW', 'E_BAD_ROW']);
  expect(commits).toEqual([]);
  expect(await store.select('kinds', 'all', { columns: ['id'] })).toEqual([]);
});

test('a table made before rowids had a column default still gets them, ascending, from its sequence', async () => {
  const table = await store.table('kinds', 'all');
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    await db.query(`ALTER TABLE ${table.physical} ALTER COLUMN _rowid DROP DEFAULT`);
    await store.insert('kinds', 'all', [{ id: 3 }, { id: 1 }, { id: 2 }]);
    const { rows } = await db.query(`SELECT id FROM ${table.physical} ORDER BY _rowid`);
    expect(rows.map((r) => Number(r.id))).toEqual([3, 1, 2]);
  } finally {
    await db.end();
  }
});

test('concurrent inserts each number their rows with a run of their own, and an older writer drawing per row shares the sequence', async () => {
  const table = await store.table('kinds', 'all');
  // 12 writers at once, 300 rows each: each version's rowids must be one unbroken run, none shared
  await Promise.all(
    Array.from({ length: 12 }, (_, w) =>
      store.insert(
        'kinds',
        'all',
        Array.from({ length: 300 }, (_, i) => ({ id: w * 1000 + i })),
      ),
    ),
  );
  const db = new pg.Client({ connectionString: DATABASE_URL });
  await db.connect();
  try {
    // an older worker (before runs were drawn) inserts by the column default, under the same version bump
    await db.query(`INSERT INTO ${table.physical} (_v_min, id) VALUES (9999, 777777)`);
    await store.insert('kinds', 'all', [{ id: 888888 }, { id: 888889 }]);
    const { rows } = await db.query(
      `SELECT _v_min AS v, count(*)::int AS n, min(_rowid)::bigint AS lo, max(_rowid)::bigint AS hi, count(DISTINCT _rowid)::int AS distinct
         FROM ${table.physical} GROUP BY _v_min ORDER BY min(_rowid)`,
    );
    expect(rows).toHaveLength(14);
    for (const r of rows) {
      expect(r.distinct).toBe(r.n);
      expect(Number(r.hi) - Number(r.lo) + 1).toBe(r.n);
    }
    // runs follow one another without overlap
    for (let k = 1; k < rows.length; k++) expect(Number(rows[k].lo)).toBeGreaterThan(Number(rows[k - 1].hi));
    expect(rows.reduce((a, r) => a + r.n, 0)).toBe(12 * 300 + 3);
  } finally {
    await db.end();
  }
});
