import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startOpenAIServer, type OpenAIServer } from '../support/openai-server/index';
import { startOwnPostgres, type OwnPostgres } from '../support/faults/own-postgres';
import { runScenario, type ScenarioEnv } from '../support/chaos/run-scenario';

/**
 * The chaos harness (npm run chaos) in small, on every change: 300 rows through the chaos pipeline
 * (a chain, batched columns, a view, model columns, exports to Postgres and Parquet) on 3 worker
 * processes, with no step by hand, under every fault at once: inserts, 10% updates and 5% deletes
 * while workers are SIGKILLed, the run's own Redis is flushed and the export target is down. The
 * record holds every live row, and the customer's table and the Parquet files equal the record.
 * Answers are kept as they arrive, so a fault costs at most the model calls in flight: each worker
 * runs one model job at a time here, and a job has at most 16 chat calls (or one embedding request
 * of 50 inputs) in flight, so requests stay within cells + that much per kill and per worker that
 * lost its jobs to the flush. (The bar,
 * requests <= 1.02 x cells, is a bar over ~20,000 rows, measured by `npm run chaos`.) Timeouts are
 * generous (a loaded machine starts workers slowly); nothing here depends on how long anything takes.
 */
const IN_FLIGHT = 16;
let openai: OpenAIServer;
let customer: OwnPostgres;
let env: ScenarioEnv;
const ROWS = 300;

beforeAll(async () => {
  [openai, customer] = await Promise.all([startOpenAIServer(), startOwnPostgres()]);
  env = {
    rows: ROWS,
    customer,
    openai,
    exportDir: path.join(os.tmpdir(), `tessera-chaos-${randomBytes(4).toString('hex')}`),
    timeoutMs: 600_000,
    settings: { TESSERA_CONCURRENCY: '*=1,control=2,cpu=4' },
  };
}, 300_000);
afterAll(async () => {
  await openai?.close();
  await customer?.destroy();
  if (env) await rm(env.exportDir, { recursive: true, force: true });
}, 120_000);

test('inserts, updates and deletes under SIGKILLs, a Redis FLUSHALL and the export target down: exports equal the record, no answer paid twice', async () => {
  const r = await runScenario('all-at-once', { killEveryMs: 5000, flushAt: 0.3, targetDownMs: 5000, churn: true }, env);
  expect(r.error).toBeUndefined();
  expect(r.rows).toBe(ROWS - ROWS / 20);
  expect(r.viewRows).toBe(2 * r.rows); // two sentences per row
  expect(r.customer).toBe(r.record);
  expect(r.parquet).toBe(r.record);
  expect(r.kills).toBeGreaterThan(0);
  const lost = IN_FLIGHT * (r.kills + 3);
  expect(r.chatRequests).toBeLessThanOrEqual(r.chatCells + lost);
  // embeddings go in requests of up to 50 inputs, one request at a time per job
  expect(r.embedInputs).toBeLessThanOrEqual(r.embedCells + 50 * (r.kills + 3));
  expect(r.manualSteps).toBe(0);
}, 1_200_000);
