import path from 'node:path';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server/index';
import { startHarness, type Harness } from '../support/harness';
import { spawnWorkers, stopWorkers, type WorkerProcess } from '../support/worker-process';
import { EXACT_CALLS_ENV } from '../support/env';
import { workerMetric } from '../support/metrics';

/**
 * Model calls made by real worker processes go through the fleet-wide Redis rate gate: two
 * processes together never exceed the limit the server enforces, and report their usage.
 */
let server: OpenAIServer;
let h: Harness;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  server = await startOpenAIServer({ rpm: 600, requestWindowMs: 1000 });
  process.env.TESSERA_TEST_OPENAI_URL = server.url;
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/modeled'));
  await h.engine.apply(h.def);
  const env = {
    ...h.cfg.env,
    ...EXACT_CALLS_ENV,
    TESSERA_TEST_OPENAI_URL: server.url,
    TESSERA_RATE_LIMITS: JSON.stringify({ 'openai:test-embed': { rpm: 480 } }) /* the fleet aims below the provider's 600 */,
    TESSERA_BATCH_SIZE: '25',
  };
  workers = await spawnWorkers(2, env);
});
afterAll(async () => {
  await stopWorkers(workers);
  await h.close();
  await server.close();
});

test('two workers share one limit: embeddings computed, the server never sees more than the limit', async () => {
  const rows = Array.from({ length: 300 }, (_, i) => ({ id: i, text: `chunk number ${i} about rate limits` }));
  await h.engine.insert('modeled', 'chunks', rows);
  await h.engine.waitIdle('modeled', { timeoutMs: 120_000 });
  const out = await h.engine.store.select('modeled', 'chunks', { columns: ['id', 'embedding'], withErrors: true });
  expect(out.every((r) => Array.isArray(r.embedding) && (r.embedding as number[]).length === 8)).toBe(true);
  const ok = server.arrivals.filter((a) => a.path.endsWith('/embeddings') && a.status === 200);
  expect(ok.reduce((n, a) => n + a.inputs, 0)).toBe(300); // each chunk sent once, 5 per request
  expect(ok).toHaveLength(60);
  expect(server.maxRequestsInWindow(1000)).toBeLessThanOrEqual(10); // 600 rpm = 10 per second, fleet-wide
  expect(server.count(429)).toBe(0);
  expect(await workerMetric(workers, 'tessera_model_usage_total', { counter: 'calls' })).toBe(60);
  // the same accounting is kept with the column, for `tessera status`
  const usage = await h.engine.store.usage('modeled', 'chunks');
  expect(usage.embedding).toMatchObject({ calls: 60 });
  expect(usage.embedding!.tokens).toBeGreaterThan(0);
});
