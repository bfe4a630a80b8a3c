import path from 'node:path';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server/index';
import { startHarness, type Harness } from '../support/harness';
import { spawnWorkers, stopWorkers, type WorkerProcess } from '../support/worker-process';
import { EXACT_CALLS_ENV } from '../support/env';
import { runCli } from '../support/cli';

/**
 * Real worker processes keep answered model calls in Postgres (a table in Tessera's schema):
 * recomputing a column, or inserting the same data again, makes zero model calls; `--fresh`
 * asks the model again. `tessera status` shows each model column's usage.
 */
let server: OpenAIServer;
let h: Harness;
let workers: WorkerProcess[] = [];
const ROWS = 30;
const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i, text: `document ${i} about caching model answers` }));
const snapshot = async () => h.engine.store.select('model-calls', 'docs', { limit: 1000, columns: ['id', 'summary', 'embedding'] });

beforeAll(async () => {
  server = await startOpenAIServer();
  process.env.TESSERA_TEST_OPENAI_URL = server.url;
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/model-calls'), { TESSERA_BATCH_SIZE: '10' });
  await h.engine.apply(h.def);
  workers = await spawnWorkers(2, { ...h.cfg.env, TESSERA_TEST_OPENAI_URL: server.url, ...EXACT_CALLS_ENV });
  await h.engine.insert('model-calls', 'docs', rows);
  await h.engine.waitIdle('model-calls', { timeoutMs: 120_000 });
});
afterAll(async () => {
  await stopWorkers(workers);
  await h.close();
  await server.close();
});

test('the first run calls the model once per row (chat) and once per two rows (embeddings)', async () => {
  expect(server.answered('calls-chat')).toBe(ROWS);
  expect(server.answered('calls-embed')).toBe(ROWS / 2);
  const out = await snapshot();
  expect(out.every((r) => typeof r.summary === 'string' && (r.embedding as number[]).length === 8)).toBe(true);
});

test('recomputing the columns over unchanged data makes zero model calls and gives the same values', async () => {
  const before = await snapshot();
  const r = await runCli(['recompute', 'model-calls', 'docs'], h.cfg.env);
  expect(r.code).toBe(0);
  await h.engine.waitIdle('model-calls', { timeoutMs: 120_000 });
  expect(server.answered('calls-chat')).toBe(ROWS);
  expect(server.answered('calls-embed')).toBe(ROWS / 2);
  expect(await snapshot()).toEqual(before);
});

test('the same rows deleted and inserted again make zero model calls', async () => {
  await h.engine.delete(
    'model-calls',
    'docs',
    rows.map((r) => ({ id: r.id })),
  );
  await h.engine.insert('model-calls', 'docs', rows);
  await h.engine.waitIdle('model-calls', { timeoutMs: 120_000 });
  expect(server.answered('calls-chat')).toBe(ROWS);
  expect(server.answered('calls-embed')).toBe(ROWS / 2);
});

test('recompute --fresh calls the model again for every cell', async () => {
  const r = await runCli(['recompute', 'model-calls', 'docs', '--fresh'], h.cfg.env);
  expect(r.code).toBe(0);
  expect(r.stdout).toContain('fresh model calls');
  await h.engine.waitIdle('model-calls', { timeoutMs: 120_000 });
  expect(server.answered('calls-chat')).toBe(2 * ROWS);
  expect(server.answered('calls-embed')).toBe(ROWS);
});

test('tessera status shows calls, tokens, 429s, limiter waits and requeues, and cache hits per model column', async () => {
  const r = await runCli(['status', 'model-calls'], h.cfg.env);
  expect(r.code).toBe(0);
  const line = (column: string) => r.stdout.split('\n').find((l) => l.trim().startsWith(column))!;
  const tokens = (model: string) => server.arrivals.filter((a) => a.model === model && a.status === 200).reduce((s, a) => s + a.tokens, 0);
  // two runs answered from the model, two from the cache
  expect(line('summary')).toMatch(
    new RegExp(`model: calls ${2 * ROWS}, tokens ${tokens('calls-chat')}, 429s 0, waited \\d+, requeued \\d+, cached ${2 * ROWS}$`),
  );
  expect(line('embedding')).toMatch(
    new RegExp(`model: calls ${ROWS}, tokens ${tokens('calls-embed')}, 429s 0, waited \\d+, requeued \\d+, cached ${2 * ROWS}$`),
  );
});
