import { DelayedError, Worker, UnrecoverableError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import {
  categoryOf,
  codeOf,
  isTransient,
  planPipeline,
  type RateLimitedError,
  type PipelineDef,
  type UdfContext,
  type MediaContext,
  type ResponseCache,
} from '@tessera/core';
import type { CatalogTable } from '@tessera/store';
import type { Engine } from './engine';
import type { PipelineRegistry } from './registry';
import { runStage, cellsWrittenBefore, JobLostError } from './processors/stage';
import { applyIngest, runIngest } from './processors/ingest';
import { CommitGrouper } from './ingest/commit-grouper';
import { QUEUE_CLAIM_MS } from './queue-owner';
import { BulkConsumer } from './ingest/bulk-consumer';
import { runFinalize } from './processors/finalize';
import { runIterate } from './processors/iterate';
import { CrashRecords } from './processors/crash-records';
import { StageJob, FinalizeJob, IterateJob } from './jobs/payloads';
import { jobOptions, splitPartId } from './dag/build-flow';
import { BASE_QUEUES, CONTROL_QUEUE, INGEST_QUEUE, SOURCES_QUEUE, queueName } from './jobs/queues';
import { ReadingWorker } from './jobs/unreadable-data';
import { runSourceJob } from './sources/source-processor';
import { delayExport, exportDelayed } from './export-retry';
import { ensureReconcileScheduler, runReconcileTick } from './reconcile-scheduler';
import { isRecordUnavailable } from './record-errors';

export interface WorkerEvents {
  completed?(queue: string, job: Job, result: unknown, ms: number): void;
  /** jobs completed together without a Job object each (the bulk consumer's claimed ingest jobs): how long each ran, and its failed attempts before */
  completedMany?(queue: string, jobs: ReadonlyArray<{ ms: number; attemptsMade: number }>): void;
  failed?(queue: string, job: Job | undefined, error: Error): void;
  /** a job the rate limiter refused went back to its queue (delayed), without spending an attempt */
  requeued?(queue: string, job: Job, delayMs: number): void;
  /** a job that made progress went back to its queue for the rest (time slice used up, or a transient failure after writing cells), without spending an attempt */
  continued?(queue: string, job: Job, delayMs: number): void;
  /** an insert this process committed filled these computed cells itself, by column (no stage job computes them) */
  cellsFilled?(pipeline: string, table: string, filled: Record<string, number>): void;
}

export interface WorkerPoolOptions {
  engine: Engine;
  registry: PipelineRegistry;
  /** queue names to consume; all queues of the loaded pipelines by default */
  queues?: string[];
  media: MediaContext;
  rateGate?: UdfContext['rateGate'];
  /** answered model calls (PostgresResponseCache in the worker) */
  cache?: ResponseCache;
  /** model usage reported by UDFs (calls, tokens, 429s, cache hits) */
  usage?: (counter: string, amount: number, where: { pipeline: string; table: string; column: string }) => void;
  events?: WorkerEvents;
  /** each model request UDFs make (for metrics) */
  observeModelCall?: UdfContext['observeModelCall'];
}

/**
 * Where a column's generated media goes: the destination in the pipeline code this worker runs
 * (`t.image().destination(url)`, `compute(name, expr, { destination })`), like export sinks a
 * matter of deployment that may change without recomputing; else the one recorded in the catalog.
 */
function columnDestination(registry: PipelineRegistry, table: CatalogTable, column: string): string | undefined {
  const def = registry.has(table.pipeline) ? registry.get(table.pipeline).tables.find((t) => t.name === table.name) : undefined;
  return def?.columns.find((c) => c.name === column)?.type.spec.destination ?? table.columns.find((c) => c.name === column)?.type.destination;
}

/** Every queue a pipeline's code plans work on (stage queues; iterate jobs run on cpu or media). */
function queuesOfCode(def: PipelineDef): string[] {
  try {
    return planPipeline(def).tables.flatMap((t) => t.stages.map((s) => queueName(s.queue)));
  } catch {
    return []; // a definition that does not plan is refused at apply, with its message
  }
}

/** A set of BullMQ workers, one per queue, sharing one engine. */
export class WorkerPool {
  private constructor(
    readonly workers: Worker[],
    private readonly connections: Redis[],
    private readonly sinks: Array<{ close(): Promise<void> }>,
    private readonly timers: NodeJS.Timeout[] = [],
    private readonly bulk: BulkConsumer[] = [],
  ) {}

  static async start(opts: WorkerPoolOptions): Promise<WorkerPool> {
    const { engine, registry } = opts;
    registry.all().forEach((def) => engine.define(def)); // ingest checks rows against the code's JSON schemas
    const cellsFilled = opts.events?.cellsFilled;
    if (cellsFilled) engine.onCellsFilled = (pipeline, table, filled) => cellsFilled(pipeline, table, filled);
    const cfg = engine.config;
    let names = opts.queues;
    if (!names?.length) {
      // the queues of the code this worker runs (so a pipeline applied after it started is served) and of the catalog
      const queues = new Set<string>(BASE_QUEUES);
      for (const def of registry.all()) {
        (await engine.queuesOf(def.name).catch(() => [])).forEach((q) => queues.add(q));
        queuesOfCode(def).forEach((q) => queues.add(q));
      }
      names = [...queues];
    }
    const context = (table: CatalogTable, column: string): UdfContext => {
      const destination = columnDestination(registry, table, column);
      return {
        media: opts.media,
        column: { table: table.name, name: column, ...(destination ? { destination } : {}) },
        ...(opts.rateGate ? { rateGate: opts.rateGate } : {}),
        ...(opts.cache ? { cache: opts.cache } : {}),
        ...(opts.observeModelCall ? { observeModelCall: opts.observeModelCall } : {}),
        ...(opts.usage
          ? { usage: (counter: string, amount: number) => opts.usage!(counter, amount, { pipeline: table.pipeline, table: table.name, column }) }
          : {}),
      };
    };
    // ingest jobs this process holds are committed in groups (one version per table per window)
    const grouper = new CommitGrouper((p, t, op, requests) => engine.commitGroup(p, t, op, requests), {
      windowMs: cfg.ingestWindowMs,
      busyWindowMs: cfg.ingestBusyWindowMs,
      maxRows: cfg.ingestMaxRows,
    });
    const connections: Redis[] = [];
    const timers: NodeJS.Timeout[] = [];
    /** Back to the queue without spending an attempt; the stall count restarts, since the job moves on. */
    const requeueAfterProgress = async (job: Job, token: string, delayMs: number) => {
      await job.moveToDelayed(Date.now() + delayMs, token);
      await engine.redis.hset(`${cfg.queuePrefix}:${job.queueName}:${job.id}`, 'stc', '0').catch(() => undefined);
    };
    // rows in flight when a worker process died: computed alone, refused once they killed it twice
    const crashes = new CrashRecords(engine.redis, cfg.queuePrefix);
    const sinks = registry.all().flatMap((d) => d.exports.map((e) => e.sink));
    const bulk: BulkConsumer[] = [];
    const workers = names.map((name) => {
      const concurrency = cfg.concurrency[name] ?? cfg.concurrency['*'] ?? defaultConcurrency(name, cfg.ingestClaim);
      const run = async (job: Job, token?: string, signal?: AbortSignal): Promise<unknown> => {
        let result: unknown;
        if (name === INGEST_QUEUE) result = await runIngest(job, grouper, engine.config);
        else if (name === SOURCES_QUEUE) result = await runSourceJob(job, { engine, registry });
        else if (job.data?.kind === 'reconcile') result = await runReconcileTick(engine, job);
        else if (job.data?.kind === 'finalize') {
          result = await runFinalize(FinalizeJob.parse(job.data), {
            store: engine.store,
            registry,
            enqueueDerived: (p, d) => engine.enqueueDerived(p, d),
            alone: (fn) => crashes.alone(fn),
            stalledBefore: job.stalledCounter > 0,
          });
        } else if (job.data?.kind === 'iterate') {
          const parsed = IterateJob.safeParse(job.data);
          if (!parsed.success) throw new UnrecoverableError(`invalid iterate job: ${parsed.error.message}`);
          const data = parsed.data;
          result = await runIterate(data, job.id!, {
            store: engine.store,
            registry,
            media: opts.media,
            split: async (parts) => {
              await engine.queue(name).addBulk(
                parts.map((p) => ({
                  name: job.name,
                  data: p,
                  opts: { ...jobOptions({ attempts: cfg.jobAttempts }), jobId: splitPartId(job.id!, p.lo, p.hi) },
                })),
              );
            },
            enqueueView: async (view, version) => void (await engine.enqueue(data.pipeline, view, version, { vMin: version })),
            enqueueDerived: (d) => engine.enqueueDerived(data.pipeline, d),
            lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
            crashes,
            stalledBefore: job.stalledCounter > 0,
            rowTimeoutMs: cfg.udfTimeoutMs,
            maxBatchBytes: cfg.batchBytes,
          });
        } else {
          const parsed = StageJob.safeParse(job.data);
          if (!parsed.success) throw new UnrecoverableError(`invalid stage job: ${parsed.error.message}`);
          const r = await runStage(parsed.data, {
            store: engine.store,
            registry,
            context,
            writeBackRows: cfg.writeBackRows,
            writeBackMs: cfg.writeBackMs,
            sliceMs: cfg.jobSliceMs,
            maxBatchBytes: cfg.batchBytes,
            udfTimeoutMs: cfg.udfTimeoutMs,
            lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
            ...(signal ? { signal } : {}),
            crashes,
            stalledBefore: job.stalledCounter > 0,
          });
          if (r.remaining && token) {
            // a long job used up its time slice: what it computed is written; the rest waits in the
            // queue like any job (another worker may take it), without spending an attempt
            await requeueAfterProgress(job, token, 0);
            opts.events?.continued?.(name, job, 0);
            throw new DelayedError();
          }
          result = r;
        }
        return result;
      };
      /** What a job that threw becomes: always throws (the error to fail it with, or DelayedError once moved). */
      const recover = async (job: Job, token: string | undefined, e: unknown): Promise<never> => {
        if (codeOf(e) === 'E_RATE_LIMITED' && token) {
          // The stage has written the cells it computed. The job waits in the delayed set, not in a
          // worker slot, and comes back without spending an attempt (moveToDelayed skips the attempt
          // count); other jobs of the queue carry on meanwhile.
          const delayMs = requeueDelay((e as RateLimitedError).waitMs);
          await job.moveToDelayed(Date.now() + delayMs, token);
          opts.events?.requeued?.(name, job, delayMs);
          throw new DelayedError();
        }
        if (e instanceof DelayedError || e instanceof JobLostError) throw e;
        if (categoryOf(e) === 'skew') throw new UnrecoverableError((e as Error).message);
        // a stage that failed transiently after writing cells made progress: progress does not cost
        // an attempt (a 300-row model job under 20% failures finishes); only runs that wrote nothing do
        if (job.data?.kind === 'stage' && isTransient(e) && cellsWrittenBefore(e) > 0 && token) {
          const delayMs = Math.ceil(500 * (1 + Math.random()));
          await requeueAfterProgress(job, token, delayMs);
          opts.events?.continued?.(name, job, delayMs);
          throw new DelayedError();
        }
        // Tessera's own Postgres restarting or out of reach: wait for it without spending attempts
        if (
          job.data?.kind !== 'reconcile' &&
          isRecordUnavailable(e) &&
          (await delayExport(job, token, { baseMs: 500, maxMs: 10_000, giveUpAfterMs: cfg.exportRetryForMs }))
        ) {
          opts.events?.failed?.(name, job, e as Error);
          throw exportDelayed();
        }
        // an export target that is down: wait and try again without spending an attempt
        if (
          job.data?.kind === 'finalize' &&
          isTransient(e) &&
          (await delayExport(job, token, { baseMs: 500, maxMs: cfg.exportRetryMaxMs, giveUpAfterMs: cfg.exportRetryForMs }))
        ) {
          opts.events?.failed?.(name, job, e as Error);
          throw exportDelayed();
        }
        throw e;
      };
      const processor = async (job: Job, token?: string, signal?: AbortSignal) => {
        const started = Date.now();
        let result: unknown;
        try {
          result = await run(job, token, signal);
        } catch (e) {
          return recover(job, token, e);
        }
        opts.events?.completed?.(name, job, result, Date.now() - started);
        return result;
      };
      const connection = new Redis(cfg.redisUrl, { maxRetriesPerRequest: null });
      connection.on('error', () => {});
      connections.push(connection);
      // a job whose data is not JSON fails at once with that reason, rather than stalling out its lock
      const worker = new ReadingWorker(name, processor, {
        connection,
        prefix: cfg.queuePrefix,
        concurrency,
        lockDuration: cfg.lockMs,
        stalledInterval: Math.max(1000, Math.floor(cfg.lockMs / 2)),
        maxStalledCount: name === INGEST_QUEUE ? INGEST_MAX_STALLS : 5,
        // for jobs whose producer set none: BullMQ would keep every finished job, and Redis fills up
        removeOnComplete: { count: cfg.keepCompletedJobs },
        removeOnFail: { count: cfg.keepFailedJobs },
      });
      worker.on('failed', (job, err) => opts.events?.failed?.(name, job, err));
      // a job whose lock could not be renewed is no longer ours (another worker took it after the lock
      // lapsed, or Redis lost it): its stage stops asking the model, so no answer is paid for twice
      worker.on('lockRenewalFailed', (ids) => ids.forEach((id) => worker.cancelJob(id, 'its lock could not be renewed')));
      if (name === INGEST_QUEUE && cfg.ingestClaim > 0) {
        // streams of one-row jobs: taken many at a time rather than one BullMQ fetch each
        bulk.push(
          new BulkConsumer({
            redisUrl: cfg.redisUrl,
            prefix: cfg.queuePrefix,
            queue: name,
            process: processor,
            // a claimed ingest job is applied from its payload and identity, without a Job object
            fast: (claimed) => applyIngest(JSON.parse(claimed.data), claimed, grouper, engine.config),
            recover,
            completedMany: (jobs) => opts.events?.completedMany?.(name, jobs),
            maxHeld: cfg.ingestClaim,
            maxHeldBytes: cfg.ingestClaimBytes,
            lockMs: cfg.lockMs,
            keepCompleted: cfg.keepCompletedJobs,
            keepFailed: cfg.keepFailedJobs,
            failed: (job, err) => opts.events?.failed?.(name, job, err),
          }),
        );
      }
      if (name === CONTROL_QUEUE) {
        // the fleet reconciles itself: (re)create the scheduler now and each interval (Redis may lose it)
        const ensure = () => void ensureReconcileScheduler(engine).catch(() => undefined);
        ensure();
        if (cfg.reconcileEveryMs) timers.push(setInterval(ensure, Math.max(1000, cfg.reconcileEveryMs)).unref());
      }
      worker.on('error', () => {}); // connection blips: BullMQ reconnects
      return worker;
    });
    // the queue prefix stays this record's while its workers run (Engine.connect claimed it)
    timers.push(setInterval(() => void engine.renewQueueClaim().catch(() => undefined), QUEUE_CLAIM_MS / 6).unref());
    return new WorkerPool(workers, connections, sinks, timers, bulk);
  }

  get queueNames(): string[] {
    return this.workers.map((w) => w.name);
  }

  /** Stop taking jobs and wait for the active ones to finish. */
  async close(): Promise<void> {
    this.timers.forEach((t) => clearInterval(t));
    await Promise.all([...this.workers.map((w) => w.close()), ...this.bulk.map((b) => b.close())]);
    await this.release();
  }

  /**
   * Let go of Redis without waiting for it (it is unreachable): the connections close, so what
   * waited on them fails rather than hangs. Jobs still held are neither completed nor failed;
   * their locks lapse and BullMQ's stalled check gives them to another worker (or, if Redis lost
   * them, the reconcile enqueues their rows again): what a killed worker leaves, and safe the same way.
   */
  async abandon(): Promise<void> {
    this.timers.forEach((t) => clearInterval(t));
    this.bulk.forEach((b) => b.abandon());
    await this.release();
  }

  /** The connections BullMQ was given (it leaves them open) and the export sinks. */
  private async release(): Promise<void> {
    this.connections.forEach((c) => c.disconnect());
    await Promise.all([...new Set(this.sinks)].map((s) => s.close().catch(() => undefined)));
  }
}

/**
 * Stalls an ingest job survives before BullMQ fails it. Every job a process holds stalls when it
 * dies, whatever killed it, and a held ingest job is often a bystander: a fresh process claims the
 * waiting ingest jobs together with the stage jobs whose rows killed the last one, and dies again
 * before its group commits. A failed ingest job is a producer's rows lost (other jobs' cells are
 * found again by the reconcile), while after its first stall an ingest job runs no user code (its
 * cells are left to the stage jobs' guard, see IngestRequest.afterStall), only bounded parsing and
 * the commit. So it may stall far more often than the other queues' jobs (5).
 */
const INGEST_MAX_STALLS = 25;

/**
 * Jobs in flight per queue unless TESSERA_CONCURRENCY says otherwise. Ingest jobs mostly wait for
 * their group's commit, so a worker holds many (each group can only be as large as this); with the
 * bulk consumer taking streams (waiting and prioritized jobs), the regular Worker needs only enough
 * for a lone job on an idle fleet and delayed ones as they come due: each job it takes while a
 * stream flows costs BullMQ's own round trips, several times a claimed job's share. Exports and
 * view starts (control) are few.
 */
function defaultConcurrency(queue: string, bulkClaim: number): number {
  if (queue === INGEST_QUEUE) return bulkClaim > 0 ? 2 : 256;
  return queue === CONTROL_QUEUE || queue === SOURCES_QUEUE ? 2 : 4;
}

/** The limiter's wait plus up to 10% jitter, so jobs refused together do not all come back together. */
function requeueDelay(waitMs: number): number {
  const ms = Math.max(50, Number.isFinite(waitMs) ? waitMs : 1000);
  return Math.ceil(ms * (1 + Math.random() * 0.1));
}
