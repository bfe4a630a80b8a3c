import path from 'node:path';
import type { Job } from 'bullmq';
import { WorkerPool } from '../src';
import { startHarness, type Harness } from '../../../test/support/harness';
import { testMediaContext } from '../../../test/support/media';
import { callCounter } from '../../../test/support/call-counter';

/**
 * A stage job that the rate limiter refuses writes the cells it computed, then waits in BullMQ's
 * delayed set (job.moveToDelayed + DelayedError) and comes back without spending an attempt: with
 * one attempt allowed, any attempt spent on waiting would fail the job and leave cells pending.
 */
const counter = callCounter({ setEnv: true });
const ROWS = 60;

let h: Harness;
let pool: WorkerPool;
const completed: Array<{ id: string; attemptsMade: number; attemptsStarted: number }> = [];
const requeued: Array<{ id: string; delayMs: number }> = [];
const failed: string[] = [];

beforeAll(async () => {
  h = await startHarness(path.resolve(import.meta.dirname, '../../../test/pipelines/limited'), { TESSERA_JOB_ATTEMPTS: '1', TESSERA_BATCH_SIZE: '20' });
  await h.engine.apply(h.def);
  pool = await WorkerPool.start({
    engine: h.engine,
    registry: h.registry,
    media: testMediaContext(h.cfg),
    events: {
      completed: (_q, job: Job) => completed.push({ id: job.id!, attemptsMade: job.attemptsMade, attemptsStarted: job.attemptsStarted }),
      requeued: (_q, job: Job, delayMs) => requeued.push({ id: job.id!, delayMs }),
      failed: (_q, job, err) => failed.push(`${job?.id}: ${err.message}`),
    },
  });
  await h.engine.insert(
    'limited',
    'items',
    Array.from({ length: ROWS }, (_, i) => ({ id: i, n: i })),
  );
  await h.engine.waitIdle('limited', { timeoutMs: 60_000 });
});
afterAll(async () => {
  await pool?.close();
  await counter.close();
  await h.close();
});

test('every cell is computed, and nothing failed', async () => {
  const rows = await h.engine.store.select('limited', 'items', { limit: 1000, withErrors: true });
  expect(rows).toHaveLength(ROWS);
  for (const r of rows) {
    expect(r.tens).toBe((r.n as number) * 10);
    expect(r.next).toBe((r.n as number) + 1);
  }
  expect(failed).toEqual([]);
});

test('jobs went back to the queue and came back without spending an attempt', () => {
  const stages = completed.filter((c) => c.id.includes('/s0/'));
  expect(stages).toHaveLength(3);
  expect(requeued.length).toBeGreaterThanOrEqual(3); // every batch has refused rows
  expect(requeued.every((r) => r.delayMs >= 300)).toBe(true); // delayed by the limiter's wait
  for (const c of stages) {
    expect(c.attemptsMade).toBe(0);
    expect(c.attemptsStarted).toBeGreaterThan(1);
  }
});

test('cells computed before a refusal were written and never computed again', async () => {
  const calls = await counter.counts();
  for (let n = 0; n < ROWS; n++) {
    // a refused row is called twice (the refusal, then the answer); every other row once
    expect([n, calls[`row:${n}`]]).toEqual([n, n % 7 === 3 ? 2 : 1]);
    expect([n, calls[`batch:${n}`]]).toEqual([n, n % 5 === 4 ? 2 : 1]);
  }
});
