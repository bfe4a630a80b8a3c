import pg from 'pg';
import { Store } from '../src';
import { DATABASE_URL, closeStore, openStore, plan } from './store-kit';

/** Idempotency keys of grouped writes: a producer's request id keeps a digest, a job's own id needs none. */
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

const digestOf = async (id: string) =>
  (await db.query(`SELECT digest FROM "${schema}".requests WHERE request_id = $1`, [id])).rows[0]?.digest as string | null | undefined;

test('a key naming its payload is kept without a digest and its repeat, grouped or later, applies once', async () => {
  const row = { id: 1, body: 'a', tag: null };
  const first = await store.commitGroup('lib', 'docs', 'insert', [
    { id: 'job:1@100', idNamesPayload: true, rows: [row] },
    { id: 'job:1@100', idNamesPayload: true, rows: [row] },
  ]);
  expect(first.outcomes.map((o) => o.ok && o.duplicate)).toEqual([false, true]);
  expect(await digestOf('job:1@100')).toBeNull();
  const again = await store.commitGroup('lib', 'docs', 'insert', [{ id: 'job:1@100', idNamesPayload: true, rows: [row] }]);
  expect(again.outcomes[0]).toMatchObject({ ok: true, duplicate: true, version: (first.outcomes[0] as { version: number }).version });
  expect(again.commits).toEqual([]);
  expect(await store.select('lib', 'docs', { columns: ['id'] })).toHaveLength(1);
});

test("a producer's request id keeps its digest: reused for other rows, it is refused", async () => {
  await store.commitGroup('lib', 'docs', 'insert', [{ id: 'r1', rows: [{ id: 1, body: 'a', tag: null }] }]);
  expect(await digestOf('r1')).toEqual(expect.any(String));
  const reused = await store.commitGroup('lib', 'docs', 'insert', [{ id: 'r1', rows: [{ id: 2, body: 'b', tag: null }] }]);
  expect(reused.outcomes[0]).toMatchObject({ ok: false, error: expect.objectContaining({ code: 'E_REQUEST_REUSED' }) });
});

test('a record made before digests could be absent is migrated to allow them', async () => {
  await db.query(`ALTER TABLE "${schema}".requests ALTER COLUMN digest SET NOT NULL`);
  const reopened = await Store.open({ url: DATABASE_URL, schema, poolSize: 2 });
  try {
    const { rows } = await db.query(`SELECT attnotnull FROM pg_attribute WHERE attrelid = '"${schema}".requests'::regclass AND attname = 'digest'`);
    expect(rows[0].attnotnull).toBe(false);
    const g = await reopened.commitGroup('lib', 'docs', 'insert', [{ id: 'job:2@200', idNamesPayload: true, rows: [{ id: 2, body: 'b', tag: null }] }]);
    expect(g.outcomes[0]).toMatchObject({ ok: true, duplicate: false });
  } finally {
    await reopened.close();
  }
});

test("a record made with a foreign key to tables loses it (a lookup per request on every commit), and keeps each request's order", async () => {
  await db.query(
    `ALTER TABLE "${schema}".requests ADD CONSTRAINT requests_table_id_fkey FOREIGN KEY (table_id) REFERENCES "${schema}".tables(id) ON DELETE CASCADE`,
  );
  const reopened = await Store.open({ url: DATABASE_URL, schema, poolSize: 2 });
  try {
    const { rows } = await db.query(`SELECT count(*)::int AS n FROM pg_constraint WHERE conrelid = '"${schema}".requests'::regclass AND contype = 'f'`);
    expect(rows[0].n).toBe(0);
    const g = await reopened.commitGroup('lib', 'docs', 'insert', [
      { id: 'job:7@1', idNamesPayload: true, rows: [{ id: 7, body: 'g', tag: null }] },
      { id: 'r8', rows: [{ id: 8, body: 'h', tag: null }] },
      { id: 'job:9@1', idNamesPayload: true, rows: [{ id: 9, body: 'i', tag: null }] },
    ]);
    expect(g.outcomes.map((o) => o.ok)).toEqual([true, true, true]);
    const recorded = await db.query(`SELECT request_id, pos, count, digest IS NULL AS bare FROM "${schema}".requests ORDER BY pos`);
    expect(recorded.rows).toEqual([
      { request_id: 'job:7@1', pos: 0, count: 1, bare: true },
      { request_id: 'r8', pos: 1, count: 1, bare: false },
      { request_id: 'job:9@1', pos: 2, count: 1, bare: true },
    ]);
  } finally {
    await reopened.close();
  }
});

/**
 * One request row per producer call would grow without end under a stream: keys older than the
 * retention are forgotten (oldest first, in bounded batches), younger ones still make a repeat
 * apply once, and a repeat of a forgotten key is a new request.
 */
test('request ids older than the retention are forgotten; younger ones still answer a repeat', async () => {
  const table = await store.table('lib', 'docs');
  for (let v = 0; v < 3; v++) {
    await store.commitGroup(
      'lib',
      'docs',
      'insert',
      Array.from({ length: 5 }, (_, i) => ({ id: `old-${v}-${i}`, rows: [{ id: v * 10 + i, body: 'x', tag: null }] })),
    );
  }
  await db.query(`UPDATE "${schema}".requests SET created_at = now() - interval '2 hours'`);
  await store.commitGroup('lib', 'docs', 'insert', [{ id: 'young', rows: [{ id: 100, body: 'y', tag: null }] }]);

  expect(await store.history.forgetRequests(table, 3 * 3600_000)).toBe(0); // nothing is that old
  expect(await store.history.forgetRequests(table, 3600_000)).toBe(15);
  const left = await db.query(`SELECT request_id FROM "${schema}".requests`);
  expect(left.rows.map((r) => r.request_id)).toEqual(['young']);

  const repeat = await store.commitGroup('lib', 'docs', 'upsert', [{ id: 'young', rows: [{ id: 100, body: 'y', tag: null }] }]);
  expect(repeat.outcomes[0]).toMatchObject({ ok: false, error: expect.objectContaining({ code: 'E_REQUEST_REUSED' }) }); // still known: an upsert under its id is a reuse
  const forgotten = await store.commitGroup('lib', 'docs', 'upsert', [{ id: 'old-0-0', rows: [{ id: 0, body: 'again', tag: null }] }]);
  expect(forgotten.outcomes[0]).toMatchObject({ ok: true, duplicate: false });
  expect((await store.select('lib', 'docs', { where: { id: 0 } }))[0]).toMatchObject({ body: 'again' });
});
