import pg from 'pg';
import { chatUdf, embeddingsUdf, type ModelUdfContext } from '@tessera/functions';
import { Store } from '@tessera/store';
import { PostgresResponseCache, type Queryable } from '../src';
import { startOpenAIServer, type OpenAIServer } from '../../../test/support/openai-server';
import { testConfig } from '../../../test/support/env';
import { modelContext } from '../../../test/support/model-context';

/** The response cache in Postgres: batched statements, shared by every worker of the fleet. */
const cfg = testConfig();
let pool: pg.Pool;
let server: OpenAIServer;
let statements: string[] = [];
/** the real pool, with each statement it runs noted */
const counted: Queryable = {
  query: (text, params) => {
    statements.push(text.trim().split(/\s+/)[0]!.toUpperCase());
    return pool.query(text, params as unknown[]);
  },
};

beforeAll(async () => {
  pool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 4 });
  // the cache's table comes with the store's migrations
  await (await Store.open({ url: cfg.databaseUrl, schema: cfg.schema })).close();
  server = await startOpenAIServer();
  process.env.TESSERA_TEST_CACHE_KEY = 'sk-cache-test';
});
afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${cfg.schema}" CASCADE`);
  await pool.end();
  await server.close();
});
beforeEach(() => {
  statements = [];
  server.reset();
});

const ctxWith = (cache: PostgresResponseCache, usage: Record<string, number>): ModelUdfContext => modelContext({ cache, usage }).ctx;

test('many workers opening the store at once on a new schema all get the cache (its table is created once)', async () => {
  for (let round = 0; round < 5; round++) {
    const schema = `${cfg.schema}_open${round}`;
    const stores = await Promise.all(Array.from({ length: 8 }, () => Store.open({ url: cfg.databaseUrl, schema, poolSize: 1 })));
    try {
      const caches = stores.map((s) => s.responseCache());
      await caches[0]!.set('k', round);
      expect(await caches[7]!.get('k')).toBe(round);
      await stores[0]!.dropAll();
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  }
});

test('get, set, getMany, setMany, JSON values; a later answer replaces the earlier one', async () => {
  const [a, b] = await Promise.all([new PostgresResponseCache(pool, cfg.schema), new PostgresResponseCache(pool, cfg.schema)]); // two workers
  expect(await a.get('missing')).toBeUndefined();
  await a.set('k1', { v: [1, 2.5, -3e-7] });
  await a.setMany([
    ['k2', 'text'],
    ['k3', null],
    ['k2', 'newer'],
  ]);
  expect(await b.getMany(['k1', 'k2', 'k3', 'k4', 'k1'])).toEqual([{ v: [1, 2.5, -3e-7] }, 'newer', null, undefined, { v: [1, 2.5, -3e-7] }]);
  await b.set('k1', 'refreshed');
  expect(await a.get('k1')).toBe('refreshed');
});

test('single gets and sets made together are one statement each', async () => {
  const cache = new PostgresResponseCache(counted, cfg.schema);
  statements = [];
  await Promise.all(Array.from({ length: 50 }, (_, i) => cache.set(`s${i}`, i)));
  const got = await Promise.all(Array.from({ length: 60 }, (_, i) => cache.get(`s${i}`)));
  expect(got).toEqual([...Array.from({ length: 50 }, (_, i) => i), ...Array(10).fill(undefined)]);
  expect(statements).toEqual(['INSERT', 'SELECT']);
});

test('a 1,000-row embedding batch costs one lookup and one write per answered request (kept as they arrive); the same rows again make no call and one lookup', async () => {
  const cache = new PostgresResponseCache(counted, cfg.schema);
  const embed = embeddingsUdf({ baseURL: server.url, apiKeyEnv: 'TESSERA_TEST_CACHE_KEY', model: 'cache-embed', dimensions: 8, maxInputsPerRequest: 100 });
  const rows = Array.from({ length: 1000 }, (_, i) => [`chunk ${i}`] as [string]);
  const usage: Record<string, number> = {};
  statements = [];
  const first = await embed.spec.batch!.fn(rows, ctxWith(cache, usage));
  expect(server.count()).toBe(10);
  // each request's 100 vectors are written when it answers, so a job killed mid-batch loses only the calls in flight
  expect(statements).toEqual(['SELECT', ...Array(10).fill('INSERT')]);
  statements = [];
  expect(await embed.spec.batch!.fn(rows, ctxWith(cache, usage))).toEqual(first);
  expect(server.count()).toBe(10);
  expect(statements).toEqual(['SELECT']);
  expect(usage).toMatchObject({ calls: 10, cacheHits: 1000 });
});

test('a call answered by one worker is not made again by another', async () => {
  const conn = { baseURL: server.url, apiKeyEnv: 'TESSERA_TEST_CACHE_KEY' };
  const chat = chatUdf({ ...conn, model: 'cache-chat' });
  const embed = embeddingsUdf({ ...conn, model: 'cache-embed', dimensions: 8 });
  const u1: Record<string, number> = {};
  const u2: Record<string, number> = {};
  // two workers: two caches, each over its own pool, on the same table
  const otherPool = new pg.Pool({ connectionString: cfg.databaseUrl, max: 2 });
  try {
    const w1 = ctxWith(new PostgresResponseCache(pool, cfg.schema), u1);
    const w2 = ctxWith(new PostgresResponseCache(otherPool, cfg.schema), u2);
    const a = await chat.spec.fn!(['same question'], w1);
    const rows = ['one', 'two', 'three'].map((s) => [s] as [string]);
    const v1 = await embed.spec.batch!.fn(rows, w1);
    expect(server.count()).toBe(2);

    expect(await chat.spec.fn!(['same question'], w2)).toBe(a);
    expect(await embed.spec.batch!.fn(rows, w2)).toEqual(v1);
    expect(server.count()).toBe(2); // zero model calls the second time
    expect(u2.calls ?? 0).toBe(0);
    expect(u2.cacheHits).toBe(4);

    // a fresh call (recompute --fresh) asks the model again and keeps the new answer
    await chat.spec.fn!(['same question'], { ...w2, cacheMode: 'refresh' });
    expect(server.count()).toBe(3);
    // a column with cache: false never reads nor writes it
    const uncached = chatUdf({ ...conn, model: 'cache-chat', cache: false });
    await uncached.spec.fn!(['same question'], w1);
    await uncached.spec.fn!(['same question'], w1);
    expect(server.count()).toBe(5);
  } finally {
    await otherPool.end();
  }
});

describe('retention and lookups in a large cache', () => {
  const schema = `${cfg.schema}_big`;
  beforeAll(async () => (await Store.open({ url: cfg.databaseUrl, schema })).close());
  afterAll(() => pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));

  test('answers older than the bound are forgotten, oldest first, a bounded batch a statement; young ones stay', async () => {
    const cache = new PostgresResponseCache(counted, schema);
    await cache.setMany(Array.from({ length: 25 }, (_, i) => [`old-${i}`, { i }]));
    // 23 answers between 2 and 24 hours old, 2 fresh
    for (let i = 0; i < 23; i++)
      await pool.query(`UPDATE "${schema}".response_cache SET created_at = now() - $1 * interval '1 hour' WHERE key = $2`, [2 + i, `old-${i}`]);
    statements = [];
    expect(await cache.forget(3600_000, 10)).toBe(23);
    expect(statements).toEqual(['SELECT', 'DELETE', 'DELETE', 'DELETE']);
    const { rows } = await pool.query(`SELECT key FROM "${schema}".response_cache WHERE key LIKE 'old-%' ORDER BY key`);
    expect(rows.map((r) => r.key)).toEqual(['old-23', 'old-24']);
    statements = [];
    expect(await cache.forget(3600_000, 10)).toBe(0);
    expect(statements).toEqual(['SELECT']); // one probe of the oldest entry
  });

  test('looking up answers probes the key index, even in a table grown far past its statistics', async () => {
    // as autovacuum leaves it: analyzed while small, then a backfill adds 60,000 answers before it looks again
    await pool.query(`ALTER TABLE "${schema}".response_cache SET (autovacuum_enabled = false)`);
    const add = (from: number, to: number) =>
      pool.query(`INSERT INTO "${schema}".response_cache (key, value) SELECT 'k' || g, to_jsonb(g) FROM generate_series($1::int, $2::int) g`, [from, to]);
    await add(1, 20);
    await pool.query(`ANALYZE "${schema}".response_cache`);
    await add(21, 60_000);
    // a connection of its own: the scan counters it reads are those of its own statements
    const db = new pg.Client({ connectionString: cfg.databaseUrl });
    await db.connect();
    try {
      await db.query('BEGIN');
      const cache = new PostgresResponseCache(db, schema);
      const keys = [...Array.from({ length: 400 }, (_, i) => `missing-${i}`), 'k7', 'k59999'];
      const values = await cache.getMany(keys);
      expect(values.slice(-2)).toEqual([7, 59999]);
      expect(values.filter((v) => v !== undefined)).toHaveLength(2);
      const { rows } = await db.query(`SELECT seq_scan FROM pg_stat_xact_user_tables WHERE relid = $1::regclass`, [`"${schema}".response_cache`]);
      expect(Number(rows[0].seq_scan)).toBe(0);
    } finally {
      await db.end();
    }
  });
});
