import path from 'node:path';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server/index';
import { startHarness, type Harness } from '../support/harness';
import { spawnWorkers, stopWorkers, type WorkerProcess } from '../support/worker-process';
import { EXACT_CALLS_ENV } from '../support/env';
import { workerMetric } from '../support/metrics';

/**
 * Two real worker processes under a tight fleet-wide limit, with a short in-process wait (300 ms)
 * and the response cache off, so that nothing can hide a repeated call: jobs the limiter refuses
 * write what they computed and wait in the delayed set without spending an attempt; transient
 * failures and a 429 are retried (those do spend attempts); every cell is computed exactly once.
 */
let server: OpenAIServer;
let h: Harness;
let workers: WorkerProcess[] = [];
const ROWS = 60;
const CHAT_FAULTS = 4;
const EMBED_FAULTS = 1;

beforeAll(async () => {
  server = await startOpenAIServer({ rpm: 600, requestWindowMs: 1000 }); // 10 per second per model
  process.env.TESSERA_TEST_OPENAI_URL = server.url;
  h = await startHarness(path.resolve(import.meta.dirname, '../pipelines/model-calls'), { TESSERA_BATCH_SIZE: '10' });
  await h.engine.apply(h.def);
  const env = {
    ...h.cfg.env,
    ...EXACT_CALLS_ENV,
    TESSERA_TEST_OPENAI_URL: server.url,
    // the fleet aims at 4 per second per model, far below the server's 10
    TESSERA_RATE_LIMITS: JSON.stringify({ 'openai:*': { rpm: 240 } }),
    TESSERA_LIMITER_MAX_WAIT_MS: '300',
    TESSERA_RESPONSE_CACHE: 'off',
  };
  workers = await spawnWorkers(2, env);
  server.inject(
    [{ kind: 'status', status: 503 }, { kind: 'drop' }, { kind: 'status', status: 500 }, { kind: 'status', status: 429, retryAfterS: 1 }],
    '/chat/completions',
  );
  server.inject([{ kind: 'status', status: 502 }], '/embeddings');
  await h.engine.insert(
    'model-calls',
    'docs',
    Array.from({ length: ROWS }, (_, i) => ({ id: i, text: `row ${i} waits for its turn` })),
  );
  await h.engine.waitIdle('model-calls', { timeoutMs: 180_000 });
});
afterAll(async () => {
  await stopWorkers(workers);
  await h.close();
  await server.close();
});

test('the run completes: every cell has a value, none failed (a 429 and 5xx are retried, not cell errors)', async () => {
  const rows = await h.engine.store.select('model-calls', 'docs', { limit: 1000, withErrors: true });
  expect(rows).toHaveLength(ROWS);
  for (const r of rows) {
    expect(r.summary).toBe(`Echo: Summarise: row ${r.id} waits for its turn`);
    expect(r.embedding as number[]).toHaveLength(8);
  }
  const status = await h.engine.store.status('model-calls', 'docs');
  expect(status.columns.map((c) => [c.column, c.done, c.failed])).toEqual([
    ['summary', ROWS, 0],
    ['embedding', ROWS, 0],
  ]);
});

test('no call was made twice: one answered request per row (chat) and per two rows (embeddings)', () => {
  expect(server.answered('calls-chat')).toBe(ROWS);
  expect(server.answered('calls-embed')).toBe(ROWS / 2);
  expect(server.count(429)).toBe(1); // the injected one: the fleet itself stayed under the limit
  expect(server.maxRequestsInWindow(1000, 'calls-chat')).toBeLessThanOrEqual(10);
  expect(server.maxRequestsInWindow(1000, 'calls-embed')).toBeLessThanOrEqual(10);
});

test('jobs waited for the limiter in their queue without spending attempts; only the injected failures did', async () => {
  const requeued = await workerMetric(workers, 'tessera_jobs_total', { outcome: 'requeued' });
  const retries = await workerMetric(workers, 'tessera_job_retries_total', { queue: /^model-/ });
  expect(requeued).toBeGreaterThanOrEqual(10);
  // an injected failure spends an attempt only when its job had written nothing yet; after progress
  // the job goes back to its queue for the rest without spending one (continued)
  const continued = await workerMetric(workers, 'tessera_jobs_total', { queue: /^model-/, outcome: 'continued' });
  expect(retries + continued).toBeGreaterThan(0);
  expect(retries).toBeLessThanOrEqual(CHAT_FAULTS + EMBED_FAULTS);
  // each requeue is counted with the column that waits, for `tessera status`
  const usage = await h.engine.store.usage('model-calls', 'docs');
  expect((usage.summary!.limiterRequeues ?? 0) + (usage.embedding!.limiterRequeues ?? 0)).toBe(requeued);
});

test('usage per column: calls (the failed ones too), 429s, calls that waited in the job, jobs that waited in the queue', async () => {
  const usage = await h.engine.store.usage('model-calls', 'docs');
  expect(usage.summary).toMatchObject({ calls: ROWS + CHAT_FAULTS, '429s': 1 });
  expect(usage.embedding).toMatchObject({ calls: ROWS / 2 + EMBED_FAULTS });
  expect(usage.summary!.limiterRequeues).toBeGreaterThan(0);
  expect(usage.summary!.limiterWaits).toBeGreaterThan(0);
  expect(usage.summary!.cacheHits ?? 0).toBe(0);
});
