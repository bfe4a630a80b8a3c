import path from 'node:path';
import type pg from 'pg';
import { QueueEvents } from 'bullmq';
import { runPipeline, type Harness } from '../support/harness';
import { connectPg, connectRedis } from '../support/clients';
import { uniqueName } from '../support/names';
import { waitFor, waitForExports } from '../support/wait';
import { seen } from '../pipelines/wide-rows/seen';

/**
 * A batch of large rows is read a part at a time (TESSERA_BATCH_BYTES), each part computed and
 * written before the next is read, by stage jobs and by iterate jobs alike: 1,000 rows of 1 MB in
 * one batch would otherwise hold a gigabyte in one worker; an export reads its chunks so too. Every
 * row is still computed once and exported whole.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../pipelines/wide-rows');
const ROWS = 60;
const CHARS = 100_000;
const BUDGET = 1024 * 1024;
const customerSchema = uniqueName('wide');
let h: Harness;
let db: pg.Client;
let cpuEvents: QueueEvents;
/** ids of the iterate jobs added to the view's queue */
const iterateJobs: string[] = [];

beforeAll(async () => {
  process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema;
  // one batch of all the rows, its cells computed in one call of up to 1,000 rows unless the budget splits it
  h = await runPipeline(PIPELINE, { TESSERA_BATCH_SIZE: '1000', TESSERA_WRITE_BACK_ROWS: '1000', TESSERA_BATCH_BYTES: String(BUDGET) });
  db = await connectPg();
  cpuEvents = new QueueEvents('cpu', { connection: connectRedis(h.cfg.redisUrl, { maxRetriesPerRequest: null }), prefix: h.cfg.queuePrefix });
  cpuEvents.on('added', ({ jobId, name }) => name.startsWith('iterate:') && iterateJobs.push(jobId));
  await cpuEvents.waitUntilReady();
});
afterAll(async () => {
  await cpuEvents?.close();
  await h.close();
  await db.query(`DROP SCHEMA IF EXISTS ${customerSchema} CASCADE`);
  await db.end();
});

test('rows of 100 kB in one batch of 60 are computed in parts within the byte budget, each once, iterated once and exported whole', async () => {
  const text = (i: number) => `${String(i).padStart(10, '0')}${'abcdefghij'.repeat(CHARS / 10 - 2)}${String(i).padStart(10, '0')}`;
  await h.engine.insert(
    'wide',
    'docs',
    Array.from({ length: ROWS }, (_, i) => ({ id: i, body: text(i) })),
  );
  await h.engine.waitIdle('wide', { timeoutMs: 120_000 });

  const rows = await h.engine.store.select('wide', 'docs', { columns: ['id', 'chars'], orderBy: ['id'] });
  expect(rows).toEqual(Array.from({ length: ROWS }, (_, i) => ({ id: i, chars: CHARS })));
  const s = seen();
  expect(s.rows).toBe(ROWS);
  // a part holds the rows whose predecessors fit in the budget: at most the budget plus one row
  expect(Math.max(...s.callChars)).toBeLessThanOrEqual(BUDGET + CHARS);
  expect(s.callChars.length).toBeGreaterThanOrEqual(Math.ceil((ROWS * CHARS) / (BUDGET + CHARS)));

  const ends = await h.engine.store.select('wide', 'ends', { columns: ['id', 'pos', 'head'], orderBy: ['id', 'pos'] });
  expect(ends).toEqual(
    Array.from({ length: ROWS }, (_, i) => [
      { id: i, pos: 0, head: String(i).padStart(10, '0') },
      { id: i, pos: 1, head: String(i).padStart(10, '0') },
    ]).flat(),
  );
  expect(s.iterated).toBe(ROWS);
  // the iterate job handed its rows on in parts sized by Postgres, each within the budget, covering
  // every row once; a part's id names the origin and one range
  const ranges = () =>
    iterateJobs
      .map((id) => /\/it-ends\/\d+-\d+\/part-(\d+)-(\d+)$/.exec(id))
      .filter((m) => m !== null)
      .map((m) => ({ lo: Number(m[1]), hi: Number(m[2]) }))
      .sort((a, b) => a.lo - b.lo);
  // the `added` events arrive on their own connection: wait for all of them
  await waitFor('the parts to cover every row', async () => ranges().reduce((n, r) => n + r.hi - r.lo + 1, 0) >= ROWS);
  const parts = ranges();
  expect(parts.length).toBe(Math.ceil(ROWS / Math.floor(BUDGET / CHARS)));
  for (const [i, r] of parts.entries()) {
    expect(r.hi - r.lo + 1).toBeLessThanOrEqual(Math.floor(BUDGET / CHARS));
    if (i > 0) expect(r.lo).toBe(parts[i - 1]!.hi + 1);
  }
  expect(iterateJobs.filter((id) => id.includes('/part-')).every((id) => /^.*\/it-ends\/\d+-\d+\/part-\d+-\d+$/.test(id))).toBe(true);

  // the export's chunks hold about the budget too, and every row arrives whole
  await waitForExports(h.engine, 'wide');
  const { rows: exported } = await db.query(
    `SELECT id::int AS id, length(body)::int AS len, chars::int AS chars, right(body, 10) AS tail FROM ${customerSchema}.wide_docs ORDER BY id`,
  );
  expect(exported).toEqual(Array.from({ length: ROWS }, (_, i) => ({ id: i, len: CHARS, chars: CHARS, tail: String(i).padStart(10, '0') })));
});
