import { randomUUID } from 'node:crypto';
import { DelayedError, Job, Queue, WaitingChildrenError, optsDecodeMap, type JobJson, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { claimJobs, completeJobs, defineClaimCommands, type ClaimCommands, type ClaimedJob, type Completion } from './claim-scripts';
import { buildJob, unreadableData } from '../jobs/unreadable-data';

export interface BulkConsumerOptions {
  redisUrl: string;
  prefix: string;
  queue: string;
  /** the queue's processor, the same one its regular Worker runs */
  process(job: Job, token: string): Promise<unknown>;
  /**
   * Runs a claimed job from its payload and identity alone, instead of `process`: in a stream of
   * one-row jobs, a BullMQ Job object per job (and its promise chain) is a large share of the
   * worker's time. Used for jobs this class completes itself (no parent, no deduplication, no kept
   * count or age); a job it rejects is built then and handed to `recover`.
   */
  fast?(job: FastJob): Promise<unknown>;
  /** what `process` does with an error (throws the error to fail the job with, or DelayedError once it moved it) */
  recover?(job: Job, token: string, error: unknown): Promise<never>;
  /** the jobs `fast` ran that were completed together (for metrics) */
  completedMany?(jobs: Array<{ ms: number; attemptsMade: number }>): void;
  /** jobs held at once by this process (each waits for its group's commit) */
  maxHeld: number;
  /**
   * about how many bytes of job data it holds at once (a claim takes at least one job, whatever
   * its size): a stream of large jobs is held a few at a time, not `maxHeld` at a time
   */
  maxHeldBytes?: number;
  lockMs: number;
  /** finished jobs kept for a producer that set no removeOnComplete / removeOnFail (BullMQ would keep them all) */
  keepCompleted?: number;
  keepFailed?: number;
  failed?(job: Job, error: Error): void;
}

/** A claimed job as `fast` sees it. */
export interface FastJob {
  id: string;
  /** the payload, as JSON */
  data: string;
  timestamp: number;
  /** failed attempts before this one */
  attemptsMade: number;
  /** times the job stalled (its lock lapsed: its worker died or froze) */
  stalledCounter: number;
}

/** What a finished job leaves for the completion script, and when it is sent. */
interface Finished {
  completion: Completion;
  /** how long `fast` ran it (jobs run by `process` report their own metrics) */
  ms?: number;
  done(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/** A job as BullMQ reads it back from its hash (the fields Job.fromJSON needs; opts' short keys decoded). */
function jobFromHash(queue: Queue, id: string, raw: Record<string, string>): Job {
  const opts: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(JSON.parse(raw.opts || '{}') as Record<string, unknown>)) opts[(optsDecodeMap as Record<string, string>)[k] ?? k] = v;
  const int = (s: string | undefined) => (s === undefined ? undefined : Number.parseInt(s, 10));
  const json = {
    id,
    name: raw.name ?? '',
    data: raw.data || '{}',
    opts: opts as JobsOptions,
    progress: JSON.parse(raw.progress || '0'),
    delay: int(raw.delay),
    priority: int(raw.priority),
    timestamp: int(raw.timestamp)!,
    attemptsStarted: int(raw.ats) ?? 0,
    attemptsMade: attemptsMadeOf(raw),
    stalledCounter: int(raw.stc) ?? 0,
    processedOn: int(raw.processedOn),
    repeatJobKey: raw.rjk,
    deduplicationId: raw.deid,
    parentKey: raw.parentKey,
    parent: raw.parent ? JSON.parse(raw.parent) : undefined,
    stacktrace: raw.stacktrace,
    failedReason: raw.failedReason,
    deferredFailure: raw.defa,
    processedBy: raw.pb,
  } as unknown as JobJson;
  return buildJob(json, (j) => Job.fromJSON(queue, j, id));
}

/** Failed attempts before this one, as BullMQ keeps them (`atm`; older versions `attemptsMade`). */
function attemptsMadeOf(raw: Record<string, string>): number {
  return Number.parseInt(raw.attemptsMade ?? raw.atm ?? '0', 10) || 0;
}

/** How the bulk consumer completes a job itself: its removeOnComplete, when it is undefined or a boolean. */
interface OwnCompletion {
  removeOnComplete: boolean | undefined;
}

/**
 * Whether the completion script may complete this job, read from its hash: not one with a parent or
 * a deduplication id, or counts and ages to keep (BullMQ's own script does those); null if not.
 */
function ownCompletion(hash: Record<string, string>): OwnCompletion | null {
  if (hash.parentKey || hash.parent || hash.deid) return null;
  // most producers set no removeOnComplete: then the options need no parsing
  if (!hash.opts?.includes('"removeOnComplete"')) return { removeOnComplete: undefined };
  try {
    const roc = (JSON.parse(hash.opts) as { removeOnComplete?: unknown }).removeOnComplete;
    return roc === undefined || typeof roc === 'boolean' ? { removeOnComplete: roc } : null;
  } catch {
    return null;
  }
}

/**
 * Takes a queue's waiting jobs many at a time, for streams of tiny jobs (one row per producer
 * call) whose cost is BullMQ's per-job round trips rather than their work. One script call claims
 * up to a few hundred jobs and another completes those of a commit together (see claim-scripts);
 * each job is run by the queue's processor (or, for jobs this class completes itself, from its
 * payload alone, see `fast`), and one that fails is failed with BullMQ's own
 * Job.moveToFailed, so attempts, backoff and UnrecoverableError behave as under a Worker. Locks are
 * extended in bulk while jobs are held; the jobs of a process that dies are recovered by BullMQ's
 * stalled check once their locks lapse, and applied once thanks to the ingest request key. The
 * queue's regular Worker keeps serving it alongside (blocking fetch, so a lone job on an idle fleet
 * is taken at once; delayed jobs, which its fetch promotes when due).
 */
export class BulkConsumer {
  private readonly redis: Redis & ClaimCommands;
  private readonly queue: Queue;
  private readonly id = randomUUID();
  private claims = 0;
  /**
   * held jobs by token (a job recovered and claimed again meanwhile is told apart by its new token),
   * with how many the token claimed: the span its jobs occupy in the active list (see claim-scripts)
   */
  private readonly held = new Map<string, { ids: Set<string>; claimed: number }>();
  private heldCount = 0;
  /** bytes of the held jobs' data (see maxHeldBytes) */
  private heldBytes = 0;
  private readonly running = new Set<Promise<void>>();
  /** completions waiting to be sent together, by token */
  private readonly toComplete = new Map<string, Finished[]>();
  private flushScheduled = false;
  private closing = false;
  private readonly loop: Promise<void>;
  private readonly extender: NodeJS.Timeout;
  private wake: (() => void) | undefined;

  constructor(private readonly opts: BulkConsumerOptions) {
    const redis = new Redis(opts.redisUrl, { maxRetriesPerRequest: null });
    redis.on('error', () => {});
    this.redis = defineClaimCommands(redis);
    this.queue = new Queue(opts.queue, { connection: redis, prefix: opts.prefix });
    this.queue.on('error', () => {});
    this.extender = setInterval(() => void this.extendLocks(), Math.max(500, Math.floor(opts.lockMs / 3)));
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    let idleMs = 10;
    while (!this.closing) {
      const room = this.opts.maxHeld - this.heldCount;
      const roomBytes = (this.opts.maxHeldBytes ?? Number.POSITIVE_INFINITY) - this.heldBytes;
      if (room <= 0 || roomBytes <= 0) {
        await new Promise<void>((r) => (this.wake = r));
        continue;
      }
      const token = `${this.id}:${++this.claims}`;
      let claimed: ClaimedJob[];
      try {
        claimed = await claimJobs(this.redis, this.queue, {
          token,
          lockMs: this.opts.lockMs,
          max: Math.min(room, 500),
          worker: `bulk:${this.id}`,
          ...(Number.isFinite(roomBytes) ? { maxBytes: roomBytes } : {}),
        });
      } catch {
        await sleep(500); // Redis unreachable: ioredis reconnects
        continue;
      }
      if (!claimed.length) {
        await sleep(idleMs);
        idleMs = Math.min(200, idleMs * 2);
        continue;
      }
      idleMs = 10;
      this.start(token, claimed);
    }
  }

  /**
   * Hold a claim's jobs and run each. The per-job loop is kept out of the async run loop: V8
   * optimizes a function whose loops run hot, and this small sync one compiles in a fraction of
   * the time (and recompiles cheaply after a deopt).
   */
  private start(token: string, claimed: ClaimedJob[]): void {
    const ids = new Set<string>();
    for (const { id } of claimed) ids.add(id);
    this.held.set(token, { ids, claimed: ids.size });
    this.heldCount += ids.size;
    for (const { id, hash } of claimed) {
      const own = ownCompletion(hash);
      const bytes = hash.data?.length ?? 0;
      this.heldBytes += bytes;
      const p = (own && this.opts.fast ? this.handleFast(id, hash, token, own.removeOnComplete) : this.handle(id, hash, token, own)).finally(() => {
        this.running.delete(p);
        ids.delete(id);
        if (!ids.size) this.held.delete(token);
        this.heldCount--;
        this.heldBytes -= bytes;
        this.wake?.();
        this.wake = undefined;
      });
      this.running.add(p);
    }
  }

  /** `own`: how this class completes the job (see ownCompletion), or null for BullMQ's own script. */
  private async handle(id: string, hash: Record<string, string>, token: string, own: OwnCompletion | null): Promise<void> {
    const job = await this.readJob(id, hash, token);
    if (!job) return;
    let result: unknown;
    try {
      result = await this.opts.process(job, token);
    } catch (e) {
      return this.fail(job, token, e);
    }
    if (!own) {
      await job.moveToCompleted(result, token, false).catch(() => undefined);
      return;
    }
    await this.toFinish(token, this.completion(id, result, own.removeOnComplete, job.attemptsMade));
  }

  private async handleFast(id: string, hash: Record<string, string>, token: string, removeOnComplete: boolean | undefined): Promise<void> {
    const started = Date.now();
    const attemptsMade = attemptsMadeOf(hash);
    let result: unknown;
    try {
      result = await this.opts.fast!({
        id,
        data: hash.data || '{}',
        timestamp: Number.parseInt(hash.timestamp ?? '0', 10),
        attemptsMade,
        stalledCounter: Number.parseInt(hash.stc ?? '0', 10) || 0,
      });
    } catch (e) {
      // failures are rare: now the job is built, and fails as one `process` ran would
      const job = await this.readJob(id, hash, token);
      if (!job) return;
      try {
        if (this.opts.recover) await this.opts.recover(job, token, e);
        throw e;
      } catch (err) {
        await this.fail(job, token, err);
      }
      return;
    }
    await this.toFinish(token, this.completion(id, result, removeOnComplete, attemptsMade), Date.now() - started);
  }

  /** The job to run (see toJob); one whose data is not JSON is failed here, with that reason, and not returned. */
  private async readJob(id: string, hash: Record<string, string>, token: string): Promise<Job | undefined> {
    const job = this.toJob(id, hash, token);
    const unreadable = job && unreadableData(job);
    if (!job || !unreadable) return job;
    await this.fail(job, token, unreadable);
    return undefined;
  }

  /** The job as BullMQ would hand it to a processor, or undefined for a hash that is not a job's. */
  private toJob(id: string, hash: Record<string, string>, token: string): Job | undefined {
    let job: Job;
    try {
      job = jobFromHash(this.queue, id, hash);
    } catch {
      return undefined; // not a job hash we can read (its options, say): its lock lapses and the regular Worker takes it
    }
    job.token = token;
    // a producer that said nothing gets the worker's bounds, as jobs of its regular Worker do
    if (job.opts.removeOnFail === undefined && this.opts.keepFailed !== undefined) job.opts.removeOnFail = { count: this.opts.keepFailed };
    return job;
  }

  private async fail(job: Job, token: string, e: unknown): Promise<void> {
    if (e instanceof DelayedError || e instanceof WaitingChildrenError) return; // the processor moved it already
    // a lost lock (the job stalled and was taken again) makes this a no-op: whoever holds it now finishes it
    await job.moveToFailed(e as Error, token, false).catch(() => undefined);
    this.opts.failed?.(job, e as Error);
  }

  private completion(id: string, result: unknown, removeOnComplete: boolean | undefined, attemptsMade: number): Completion {
    return {
      id,
      returnvalue: JSON.stringify(result ?? null),
      keep: removeOnComplete !== true,
      bounded: removeOnComplete === undefined && this.opts.keepCompleted !== undefined,
      attemptsMade: attemptsMade + 1,
    };
  }

  /** Resolves once the job's completion was sent with the others of its token (see flush). */
  private toFinish(token: string, completion: Completion, ms?: number): Promise<void> {
    return new Promise<void>((done) => {
      const list = this.toComplete.get(token) ?? [];
      list.push({ completion, ms, done });
      this.toComplete.set(token, list);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  /** Complete, per token, the jobs whose processing ended since the last flush: one script call each. */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    const batches = [...this.toComplete];
    this.toComplete.clear();
    await Promise.all(
      batches.map(async ([token, list]) => {
        const jobs = list.map((f) => f.completion);
        // lost locks are skipped (whoever holds the job now finishes it); a Redis error leaves them for the stalled check
        const skipped = await completeJobs(this.redis, this.queue, token, this.held.get(token)?.claimed ?? 0, jobs, this.opts.keepCompleted ?? -1).catch(
          () => undefined,
        );
        list.forEach((c) => c.done());
        // metrics of the jobs `fast` ran that this call completed
        if (!skipped || !this.opts.completedMany) return;
        const notDone = new Set(skipped);
        const fast = list.filter((f) => f.ms !== undefined && !notDone.has(f.completion.id));
        if (fast.length) this.opts.completedMany(fast.map((f) => ({ ms: f.ms!, attemptsMade: f.completion.attemptsMade - 1 })));
      }),
    );
  }

  private async extendLocks(): Promise<void> {
    for (const [token, { ids }] of this.held) {
      if (!ids.size) continue;
      await this.redis.tesseraExtendLocks(this.queue.keys.stalled!, this.queue.toKey(''), token, this.opts.lockMs, ...ids).catch(() => undefined);
    }
  }

  /** Stop claiming and drop the connection now (Redis is unreachable): held jobs are left to their locks. */
  abandon(): void {
    this.closing = true;
    this.wake?.();
    clearInterval(this.extender);
    this.redis.disconnect();
  }

  /** Stop claiming and finish the jobs held. */
  async close(): Promise<void> {
    this.closing = true;
    this.wake?.();
    await this.loop;
    while (this.running.size) await Promise.all([...this.running]);
    clearInterval(this.extender);
    await this.queue.close().catch(() => undefined);
    this.redis.disconnect();
  }
}
