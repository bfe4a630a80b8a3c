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
 * record holds every live row, the customer's table and the Parquet files equal the record, and
 * model requests stay within 2% of model cells. Timeouts are generous (a loaded machine starts
 * workers slowly); nothing here depends on how long anything takes.
 */
let openai: OpenAIServer;
let customer: OwnPostgres;
let env: ScenarioEnv;
const ROWS = 300;

beforeAll(async () => {
  [openai, customer] = await Promise.all([startOpenAIServer(), startOwnPostgres()]);
  env = { rows: ROWS, customer, openai, exportDir: path.join(os.tmpdir(), `tessera-chaos-${randomBytes(4).toString('hex')}`), timeoutMs: 600_000 };
}, 300_000);
afterAll(async () => {
  await openai?.close();
  await customer?.destroy();
}, 120_000);

test('inserts, updates and deletes under SIGKILLs, a Redis FLUSHALL and the export target down: exports equal the record, no answer paid twice', async () => {
  const r = await runScenario('all-at-once', { killEveryMs: 5000, flushAt: 0.3, targetDownMs: 5000, churn: true }, env);
  expect(r.error).toBeUndefined();
  expect(r.rows).toBe(ROWS - ROWS / 20);
  expect(r.viewRows).toBe(2 * r.rows); // two sentences per row
  expect(r.customer).toBe(r.record);
  expect(r.parquet).toBe(r.record);
  expect(r.kills).toBeGreaterThan(0);
  expect(r.chatRequests).toBeLessThanOrEqual(Math.floor(1.02 * r.chatCells));
  expect(r.embedInputs).toBeLessThanOrEqual(Math.floor(1.02 * r.embedCells));
  expect(r.manualSteps).toBe(0);
}, 1_200_000);
