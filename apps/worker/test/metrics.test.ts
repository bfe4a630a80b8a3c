/**
 * The worker's Prometheus metrics after real work: a model column computed through the local
 * OpenAI-compatible server and an exported table. Counts are compared with what the record and
 * the target hold, never with timings.
 */
import path from 'node:path';
import { Engine, loadPipelines } from '@tessera/runtime';
import { startWorker, type RunningWorker } from '@tessera/worker';
import { startOpenAIServer, type OpenAIServer } from '../../../test/support/openai-server/index';
import { testConfig } from '../../../test/support/env';
import { cleanup, dropSchema } from '../../../test/support/cleanup';
import { connectPg } from '../../../test/support/clients';
import { metricSample as sample } from '../../../test/support/metrics';
import { uniqueName } from '../../../test/support/names';
import { tempDir } from '../../../test/support/temp-dir';

const PIPELINES = path.resolve(import.meta.dirname, '../../../test/pipelines');
const customerSchema = uniqueName('customer');
const dir = tempDir('tessera-metrics-');
let server: OpenAIServer;
let engine: Engine;
let worker: RunningWorker;
const config = testConfig({ TESSERA_PIPELINES: `${PIPELINES}/modeled,${PIPELINES}/exporting`, TESSERA_LOG_LEVEL: 'warn' });

beforeAll(async () => {
  server = await startOpenAIServer({ rpm: 6000, requestWindowMs: 1000 });
  process.env.TESSERA_TEST_OPENAI_URL = server.url;
  process.env.TESSERA_TEST_CUSTOMER_SCHEMA = customerSchema;
  process.env.TESSERA_TEST_EXPORT_DIR = dir;
  engine = await Engine.connect(config);
  for (const def of await loadPipelines(config.pipelines)) await engine.apply(def);
  worker = await startWorker({ config: { ...config, workerPort: 0 } });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await engine?.close();
  await server?.close();
  await cleanup(config);
  await dropSchema(config.databaseUrl, customerSchema);
});

test('cells per column, model requests per provider and model, exports per sink, queue depth, long job buckets', async () => {
  await engine.insert(
    'modeled',
    'chunks',
    Array.from({ length: 40 }, (_, i) => ({ id: i, text: `chunk ${i} about metrics` })),
  );
  await engine.insert(
    'exporting',
    'notes',
    Array.from({ length: 25 }, (_, i) => ({ id: `n${i}`, body: `note ${i}`, stars: i })),
  );
  // 10 more through the ingest queue: the worker commits them, filling `shout` itself
  await engine
    .queue('ingest')
    .add('insert', { pipeline: 'exporting', table: 'notes', op: 'insert', rows: Array.from({ length: 10 }, (_, i) => ({ id: `q${i}`, body: `queued ${i}` })) });
  await Promise.all([engine.waitIdle('modeled', { timeoutMs: 120_000 }), engine.waitIdle('exporting', { timeoutMs: 120_000 })]);
  // the export runs in the version's finalize job, after the cells: wait for the rows in the target
  const db = await connectPg(config.databaseUrl);
  let exported = 0;
  for (let i = 0; i < 300 && exported < 35; i++) {
    exported = Number((await db.query(`SELECT count(*) AS n FROM ${customerSchema}.notes`).catch(() => ({ rows: [{ n: 0 }] }))).rows[0].n);
    if (exported < 35) await new Promise((r) => setTimeout(r, 200));
  }
  await db.end();
  expect(exported).toBe(35);
  await engine.waitIdle('exporting', { timeoutMs: 120_000 });

  // ... and for the finalize job that shipped them to finish
  const scrape = async () => (await fetch(`http://127.0.0.1:${worker.port}/metrics`)).text();
  let text = await scrape();
  for (let i = 0; i < 300 && sample(text, 'tessera_jobs_total', { queue: 'control', outcome: 'completed' }) < 2; i++) {
    await new Promise((r) => setTimeout(r, 200));
    text = await scrape();
  }
  // every computed cell is counted under its pipeline, table and column (at least once: a stalled job that
  // ran twice on a loaded machine counts its cells twice)
  expect(sample(text, 'tessera_cells_total', { pipeline: 'modeled', table: 'chunks', column: 'embedding', outcome: 'ok' })).toBeGreaterThanOrEqual(40);
  expect(sample(text, 'tessera_cells_total', { pipeline: 'exporting', table: 'notes', column: 'embedding', outcome: 'ok' })).toBeGreaterThanOrEqual(25);
  // `shout` (a cheap synchronous function) is filled by the insert itself: the 25 rows this test's
  // process inserted are not the worker's, the 10 it committed from the ingest queue are (once each:
  // a retried ingest job is answered from its first commit and writes nothing)
  expect(sample(text, 'tessera_cells_total', { pipeline: 'exporting', table: 'notes', column: 'shout', outcome: 'ok' })).toBe(10);
  expect(sample(text, 'tessera_cells_total', { pipeline: 'modeled', table: 'chunks', column: 'embedding', outcome: 'error' })).toBe(0);
  // model requests: every successful one the server answered, with its latency observed
  const answered = server.arrivals.filter((a) => a.status === 200).length;
  expect(answered).toBeGreaterThan(0);
  expect(sample(text, 'tessera_model_requests_total', { provider: 'openai', model: 'test-embed', outcome: 'ok' })).toBe(answered);
  expect(sample(text, 'tessera_model_request_duration_seconds_count', { provider: 'openai', model: 'test-embed' })).toBe(answered);
  expect(sample(text, 'tessera_limiter_wait_seconds_count', { provider: 'openai', model: 'test-embed' })).toBe(answered);
  // exports: at least the 25 rows upserted into the customer's table (a retried export ships again)
  expect(sample(text, 'tessera_export_rows_total', { sink: `postgres:${customerSchema}.notes`, op: 'upsert' })).toBeGreaterThanOrEqual(25);
  expect(sample(text, 'tessera_export_lag_seconds_count', { sink: `postgres:${customerSchema}.notes` })).toBeGreaterThan(0);
  expect(sample(text, 'tessera_export_duration_seconds_count', { sink: `postgres:${customerSchema}.notes` })).toBeGreaterThan(0);
  // queue depth per queue and state, read from Redis, for every queue the worker consumes: all idle now
  for (const queue of worker.queues) {
    for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed']) {
      expect(text).toMatch(new RegExp(`^tessera_queue_jobs\\{queue="${queue}",state="${state}"\\} 0$`, 'm'));
    }
  }
  expect(worker.queues).toContain('model-openai-test-embed');
  // job durations have buckets up to hours
  expect(text).toContain('tessera_job_duration_seconds_bucket{le="14400",queue="cpu"}');
}, 300_000);
