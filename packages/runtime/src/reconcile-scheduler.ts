import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import { z } from 'zod';
import type { Engine } from './engine';
import { CONTROL_QUEUE } from './jobs/queues';
import { reconcile, type ReconcileReport } from './reconcile';

/** The fleet's one reconcile scheduler (a BullMQ job scheduler on the control queue). */
export const RECONCILE_SCHEDULER_ID = 'tessera-reconcile';

export const ReconcileJob = z.object({ kind: z.literal('reconcile') });
export type ReconcileJob = z.infer<typeof ReconcileJob>;

/**
 * Make sure the fleet reconciles itself every `reconcileEveryMs`: one job per tick for the whole
 * fleet, whichever worker takes it. Every worker serving the control queue calls this at start and
 * again each interval, so the scheduler comes back after Redis lost it (a flush, a failover);
 * upserting an existing scheduler with the same interval changes nothing.
 */
export async function ensureReconcileScheduler(engine: Engine): Promise<boolean> {
  const every = engine.config.reconcileEveryMs;
  if (!every) return false;
  const q = engine.queue(CONTROL_QUEUE);
  const existing = await q.getJobScheduler(RECONCILE_SCHEDULER_ID);
  if (existing && existing.every === every) return false;
  const data: ReconcileJob = { kind: 'reconcile' };
  await q.upsertJobScheduler(
    RECONCILE_SCHEDULER_ID,
    { every },
    { name: 'reconcile', data, opts: { attempts: 1, removeOnComplete: true, removeOnFail: { count: 100 } } },
  );
  return true;
}

/**
 * One tick: reconcile every pipeline in the record, at most one tick at a time in the fleet (a
 * Redis lock; a tick that finds it held does nothing). Pipelines no worker here runs are included:
 * their work waits in its queues for workers that have the code.
 */
export async function runReconcileTick(
  engine: Engine,
  _job?: Job,
): Promise<{ skipped?: string; reports: ReconcileReport[]; forgottenRequests?: number; forgottenResponses?: number }> {
  const key = `${engine.config.queuePrefix}:reconcile:lock`;
  const token = randomUUID();
  // long enough for a slow tick; a worker killed mid-tick frees it when it expires
  const ttlMs = Math.max(60_000, engine.config.reconcileEveryMs * 4);
  if ((await engine.redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') return { skipped: 'another reconcile is running', reports: [] };
  try {
    const settlingMs = await redisSettlingMs(engine);
    const reports: ReconcileReport[] = [];
    const periodic = { graceMs: engine.config.reconcileGraceMs, stuckRetryMs: engine.config.stuckExportRetryMs, settlingMs };
    for (const pipeline of await engine.store.pipelines()) reports.push(...(await reconcile(engine, pipeline, { periodic })));
    const forgottenRequests = await forgetOldRequests(engine);
    const hours = engine.config.responseCacheKeepHours;
    // answered model calls: one per computed cell of a model column, tens of KB for an embedding
    const forgottenResponses = hours ? await engine.store.responseCache().forget(hours * 3600_000) : 0;
    return { reports, ...(forgottenRequests ? { forgottenRequests } : {}), ...(forgottenResponses ? { forgottenResponses } : {}) };
  } finally {
    // release only our own lock
    await engine.redis
      .eval(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0`, 1, key, token)
      .catch(() => undefined);
  }
}

/**
 * How much longer rows no job covers must wait after Redis lost its data, 0 when it did not lately.
 * A job running at the loss learns it at its next lock renewal (every half lock) and stops, writing
 * the answers it has; a whole lock after the loss every such job has stopped, and rows still pending
 * are truly lost. A loss is seen two ways, by a key set once and never expired, holding when it was
 * set and the server's run id then:
 * - the key is missing: a FLUSHALL, a new or empty server;
 * - the run id changed: a restart from an older snapshot or a failover to a replica, which keep the
 *   key but may have lost the newest jobs (a restart that lost nothing costs one lock's wait).
 * A fleet's first tick on a new Redis waits too: rows of earlier runs are then not yet known to be lost.
 */
async function redisSettlingMs(engine: Engine): Promise<number> {
  const key = `${engine.config.queuePrefix}:reconcile:redis-since`;
  const now = Date.now();
  const runId = await redisRunId(engine);
  // "<ms> <run id>", or "<ms>" as older workers wrote it (then the run id is recorded, not compared)
  const [sinceText, seenRunId] = ((await engine.redis.get(key)) ?? '').split(' ');
  let since = Number(sinceText);
  const lost = !sinceText || !Number.isFinite(since) || (runId !== '' && seenRunId !== undefined && seenRunId !== runId);
  if (lost) since = now;
  // the ticks are serialized by the reconcile lock, so reading then writing races with no other tick
  if (lost || (runId && seenRunId !== runId)) await engine.redis.set(key, `${since} ${runId}`);
  return Math.max(0, since + engine.config.lockMs - now);
}

/** The server's run id (new at each start, its own on each replica); '' where INFO is not allowed. */
async function redisRunId(engine: Engine): Promise<string> {
  try {
    return /^run_id:(\w+)/m.exec(await engine.redis.info('server'))?.[1] ?? '';
  } catch {
    return '';
  }
}

/**
 * Each ingest request (producer call) leaves its idempotency key in the record, one row per call:
 * under a stream that grows without end. Keys older than TESSERA_REQUEST_KEEP_HOURS are forgotten,
 * a bounded amount per table each tick (a backlog goes over several ticks).
 */
async function forgetOldRequests(engine: Engine): Promise<number> {
  const hours = engine.config.requestKeepHours;
  if (!hours) return 0;
  let forgotten = 0;
  for (const pipeline of await engine.store.pipelines()) {
    for (const table of await engine.store.tables(pipeline)) forgotten += await engine.store.history.forgetRequests(table, hours * 3600_000);
  }
  return forgotten;
}
