import path from 'node:path';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server/index';
import { startHarness } from '../support/harness';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';

/**
 * Model calls made by real worker processes go through the fleet-wide Redis rate gate: two
 * processes together never exceed the limit the server enforces, and report their usage.
 */
let server: OpenAIServer;
let h: Awaited<ReturnType<typeof startHarness>>;
let workers: WorkerProcess[] = [];

beforeAll(async () => {
  server = await startOpenAIServer({ rpm: 600, requestWindowMs: 1000 });
  process.env.TESSERA_TEST_OPENAI_URL = server.url;
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/modeled'));
  await h.engine.apply(h.def);
  const env = {
    ...h.cfg.env,
    // these tests count model calls exactly and kill no worker: a lock long enough that a loaded
    // machine's pauses never hand a live job to a second worker (which would ask again)
    TESSERA_LOCK_MS: '30000',
    TESSERA_TEST_OPENAI_URL: server.url,
    TESSERA_RATE_LIMITS: JSON.stringify({ 'openai:test-embed': { rpm: 480 } }) /* the fleet aims below the provider's 600 */,
    TESSERA_BATCH_SIZE: '25',
  };
  workers = await Promise.all([spawnWorker(env), spawnWorker(env)]);
});
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
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
  let calls = 0;
  for (const w of workers) {
    const m = /tessera_model_usage_total\{counter="calls"\} (\d+)/.exec(await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text());
    calls += Number(m?.[1] ?? 0);
  }
  expect(calls).toBe(60);
  // the same accounting is kept with the column, for `tessera status`
  const usage = await h.engine.store.usage('modeled', 'chunks');
  expect(usage.embedding).toMatchObject({ calls: 60 });
  expect(usage.embedding!.tokens).toBeGreaterThan(0);
});
