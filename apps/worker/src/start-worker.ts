import path from 'node:path';
import type http from 'node:http';
import pino from 'pino';
import { Redis } from 'ioredis';
import { Engine, PipelineRegistry, WorkerPool, RedisRateGate, loadConfig, loadPipelines, onSourceRun, type TesseraConfig } from '@tessera/runtime';
import { createMediaContext } from '@tessera/connectors';
import { removeStaleScratch } from '@tessera/core';
import { QUEUE_STATES, createMetrics } from './metrics';
import { observeJobs, observeModelCalls } from './observe-jobs';
import { startHttpServer } from './http-server';

export interface RunningWorker {
  config: TesseraConfig;
  queues: string[];
  port: number;
  /** finish active jobs, then release everything */
  stop(): Promise<void>;
}

/**
 * A worker process: loads the pipelines' code, consumes the queues it is told to (all by
 * default), serves health and metrics, and on stop finishes its active jobs before exiting.
 */
export async function startWorker(opts: { queues?: string[]; config?: TesseraConfig } = {}): Promise<RunningWorker> {
  const config = opts.config ?? loadConfig();
  const log = pino({ level: config.logLevel, base: { service: 'tessera-worker', pid: process.pid } });
  // video segments and source downloads a killed worker left in its scratch directory
  const staleScratch = await removeStaleScratch();
  if (staleScratch) log.info({ directories: staleScratch }, 'removed scratch directories of workers that are gone');
  const registry = new PipelineRegistry(await loadPipelines(config.pipelines));
  const engine = await Engine.connect(config);
  // one line when Redis goes away and one when it is back (ioredis reconnects; work waits meanwhile)
  let redisLostAt: number | undefined;
  engine.redis.on('error', (e: Error) => {
    if (redisLostAt !== undefined) return;
    redisLostAt = Date.now();
    log.warn({ err: e.message }, 'Redis unreachable: jobs wait until it is back');
  });
  engine.redis.on('ready', () => {
    if (redisLostAt === undefined) return;
    redisLostAt = undefined;
    log.info('Redis reachable again');
  });
  // queue depth is read from Redis at scrape time, for the queues this worker consumes
  let queueNames: string[] = [];
  const metrics = createMetrics({
    queueDepth: () => Promise.all(queueNames.map(async (queue) => ({ queue, counts: await engine.queue(queue).getJobCounts(...QUEUE_STATES) }))),
  });
  const media = createMediaContext({
    defaultDestination: config.mediaDestination /* a directory, or s3:// gs:// az:// */,
    cacheDir: path.resolve(config.cacheDir),
  });
  // one fleet-wide limit per provider and model (TESSERA_RATE_LIMITS), shared through Redis
  const gateRedis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
  gateRedis.on('error', () => {});
  const rateGate = new RedisRateGate({
    redis: gateRedis,
    prefix: `${config.queuePrefix}:rl:`,
    // a short wait is taken in the job; a longer one sends the job back to its queue (delayed) after
    // it has written the cells it computed
    maxWaitMs: config.limiterMaxWaitMs,
    onEvent: (e) => {
      if (e.type === 'paused') {
        metrics.usage.inc({ counter: 'limiter_pauses' });
        metrics.limiterPauses.inc();
      }
    },
  });
  // answered model calls, kept in Postgres (Tessera's record) and shared by the fleet
  const cache = config.responseCache === 'postgres' ? engine.store.responseCache() : undefined;
  const pool = await WorkerPool.start({
    engine,
    registry,
    media,
    rateGate,
    ...(cache ? { cache } : {}),
    usage: (counter, amount) => metrics.usage.inc({ counter }, amount),
    ...(opts.queues?.length ? { queues: opts.queues } : {}),
    events: observeJobs(metrics, log),
    observeModelCall: observeModelCalls(metrics),
  });
  queueNames = pool.queueNames;
  // a source run's outcome is recorded on the run (tessera schedules); the log says it too
  const offSourceRuns = onSourceRun((r) => (r.status === 'failed' ? log.warn(r, 'source run failed') : log.info(r, `source run ${r.status}`)));
  const state = { ready: true, queues: pool.queueNames };
  // TESSERA_DASHBOARD=on mounts the dashboard at /dashboard on the health port (read-only unless TESSERA_DASHBOARD_TOKEN)
  const dashboard = process.env.TESSERA_DASHBOARD === 'on' ? await mountDashboard(engine, registry) : undefined;
  const server: http.Server = await startHttpServer(
    { port: config.workerPort, host: config.workerHost, ...(config.workerToken ? { token: config.workerToken } : {}) },
    metrics,
    state,
    dashboard,
  );
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.workerPort;
  log.info({ queues: pool.queueNames, host: config.workerHost, port, pipelines: registry.all().map((p) => p.name) }, 'worker started');
  let stopping: Promise<void> | undefined;
  return {
    config,
    queues: pool.queueNames,
    port,
    stop() {
      stopping ??= (async () => {
        state.ready = false;
        log.info('stopping: finishing active jobs');
        const closed = await closeUnlessRedisStaysLost(pool.close(), () => redisLostAt, config.stopRedisWaitMs);
        offSourceRuns();
        if (closed) await engine.close();
        else {
          log.warn(
            { waitedMs: config.stopRedisWaitMs },
            'stopping without Redis (unreachable): the jobs this worker held go to another worker when their locks lapse',
          );
          await pool.abandon();
          await engine.closeWithoutRedis();
        }
        gateRedis.disconnect();
        await new Promise((r) => {
          server.close(r);
          server.closeAllConnections(); // a client holding a connection open does not hold up the exit
        });
        log.info('stopped');
      })();
      return stopping;
    },
  };
}

async function mountDashboard(engine: Engine, registry: PipelineRegistry) {
  const { createDashboard, dashboardToken } = await import('@tessera/dashboard');
  const token = dashboardToken();
  return createDashboard({ engine, pipelines: registry.all(), basePath: '/dashboard', ...(token ? { token } : {}) });
}

/**
 * Wait for `closing` (the pool finishing its active jobs) unless Redis is unreachable for `waitMs`
 * during the stop: a job can then be neither completed nor handed back, and closing would wait
 * for Redis forever. True when closed, false when Redis stayed lost.
 */
function closeUnlessRedisStaysLost(closing: Promise<void>, lostAt: () => number | undefined, waitMs: number): Promise<boolean> {
  const stopAt = Date.now();
  return new Promise<boolean>((resolve, reject) => {
    const check = setInterval(
      () => {
        const since = lostAt();
        if (since !== undefined && Date.now() - Math.max(since, stopAt) >= waitMs) {
          clearInterval(check);
          resolve(false);
        }
      },
      Math.min(250, Math.max(10, waitMs)),
    );
    closing.then(
      () => {
        clearInterval(check);
        resolve(true);
      },
      (e: unknown) => {
        clearInterval(check);
        reject(e);
      },
    );
  });
}
