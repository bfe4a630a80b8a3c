import { z } from 'zod';
import { ConfigError } from '@tessera/core';
import { DEFAULT_BATCH_BYTES } from '@tessera/store';

const intFrom = (def: number, min: number) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  TESSERA_DATABASE_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/postgres'),
  TESSERA_REDIS_URL: z.string().url().default('redis://127.0.0.1:6379'),
  TESSERA_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,40}$/, 'lowercase letters, digits, underscores')
    .default('tessera'),
  TESSERA_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,40}$/, 'letters, digits, _ . -')
    .default('tessera'),
  TESSERA_BATCH_SIZE: intFrom(1000, 1),
  TESSERA_BATCH_BYTES: intFrom(DEFAULT_BATCH_BYTES, 1024),
  TESSERA_MEDIA_DESTINATION: z.string().default('.tessera/media'),
  TESSERA_MEDIA_CACHE_DIR: z.string().default('.tessera/cache'),
  TESSERA_PIPELINES: z.string().default('pipelines'),
  TESSERA_JOB_ATTEMPTS: intFrom(8, 1),
  TESSERA_LOCK_MS: intFrom(30000, 1000),
  TESSERA_EXPORT_RETRY_MAX_MS: intFrom(60_000, 100),
  TESSERA_EXPORT_RETRY_FOR_MS: intFrom(24 * 3600_000, 0),
  TESSERA_CONCURRENCY: z.string().default(''),
  TESSERA_WORKER_PORT: intFrom(9464, 0),
  TESSERA_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TESSERA_RESPONSE_CACHE: z.enum(['postgres', 'off']).default('postgres'),
  TESSERA_LIMITER_MAX_WAIT_MS: intFrom(2000, 0),
  TESSERA_INGEST_WINDOW_MS: intFrom(50, 0),
  TESSERA_INGEST_BUSY_WINDOW_MS: intFrom(200, 0),
  TESSERA_INGEST_MAX_ROWS: intFrom(1000, 1),
  TESSERA_INGEST_CLAIM: intFrom(2000, 0),
  TESSERA_INGEST_CLAIM_BYTES: intFrom(32 * 1024 * 1024, 1024),
  TESSERA_WORKER_HOST: z.string().min(1).default('127.0.0.1'),
  TESSERA_WORKER_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  TESSERA_MAX_VALUE_BYTES: intFrom(16 * 1024 * 1024, 1024),
  TESSERA_MAX_JSON_DEPTH: intFrom(64, 1),
  TESSERA_MAX_ROW_BYTES: intFrom(64 * 1024 * 1024, 1024),
  TESSERA_MAX_INGEST_BYTES: intFrom(64 * 1024 * 1024, 1024),
  TESSERA_MAX_WRITE_ROWS: intFrom(100_000, 1),
  TESSERA_RECONCILE_EVERY_MS: intFrom(30_000, 0),
  TESSERA_RECONCILE_GRACE_MS: intFrom(10_000, 0),
  TESSERA_STUCK_EXPORT_RETRY_MS: intFrom(300_000, 0),
  TESSERA_WRITE_BACK_ROWS: intFrom(256, 1),
  TESSERA_WRITE_BACK_MS: intFrom(1000, 0),
  TESSERA_JOB_SLICE_MS: intFrom(20_000, 100),
  TESSERA_UDF_TIMEOUT_MS: intFrom(600_000, 0),
  TESSERA_STOP_REDIS_WAIT_MS: intFrom(10_000, 0),
  TESSERA_REQUEST_KEEP_HOURS: intFrom(168, 0),
  TESSERA_RESPONSE_CACHE_KEEP_HOURS: intFrom(168, 0),
  TESSERA_KEEP_COMPLETED_JOBS: intFrom(1000, 0),
  TESSERA_KEEP_FAILED_JOBS: intFrom(10_000, 0),
});

export interface TesseraConfig {
  databaseUrl: string;
  redisUrl: string;
  schema: string;
  queuePrefix: string;
  batchSize: number;
  /** a stage or iterate job reads its rows a part at a time, each holding about this many bytes of text, JSON and arrays; an export reads its chunks so */
  batchBytes: number;
  /** where generated media goes when a column names no destination (a directory or a blob URL) */
  mediaDestination: string;
  cacheDir: string;
  pipelines: string;
  jobAttempts: number;
  lockMs: number;
  /** an export whose target is down waits at most this long between tries */
  exportRetryMaxMs: number;
  /** ... and keeps trying this long before the job fails */
  exportRetryForMs: number;
  /** per-queue concurrency, `cpu=4,media=1,model-openai-gpt-4o=16`; `*` sets the default */
  concurrency: Record<string, number>;
  workerPort: number;
  logLevel: string;
  /** where workers keep answered model calls: `postgres` (a table in TESSERA_SCHEMA) or `off` */
  responseCache: 'postgres' | 'off';
  /** a model call waits in-process at most this long for a rate-limit slot; a longer wait sends its job back to the queue */
  limiterMaxWaitMs: number;
  /** ingest jobs for one table arriving within this window are committed together as one version */
  ingestWindowMs: number;
  /** ... and within this one while the table's ingest keeps arriving (its last group committed less than this long ago) */
  ingestBusyWindowMs: number;
  /** ... up to this many rows per version (a larger job is committed alone) */
  ingestMaxRows: number;
  /** ingest jobs a worker process takes many at a time and holds at once (0: one BullMQ fetch per job only) */
  ingestClaim: number;
  /** ... and about this many bytes of their data (a stream of large jobs is held a few at a time) */
  ingestClaimBytes: number;
  /** address the worker's HTTP endpoints bind to (loopback unless configured) */
  workerHost: string;
  /** bearer token for control actions on the worker's HTTP endpoints; without one there are none */
  workerToken?: string;
  /** largest single value, deepest JSON (see Security in the README) */
  maxValueBytes: number;
  maxJsonDepth: number;
  /** largest row, ingest payload and rows per write */
  maxRowBytes: number;
  maxIngestBytes: number;
  maxWriteRows: number;
  /** the fleet reconciles itself this often (one at a time, on a BullMQ job scheduler); 0 turns it off */
  reconcileEveryMs: number;
  /** rows of versions younger than this are left to the jobs their write enqueued */
  reconcileGraceMs: number;
  /** the periodic reconcile tries a stuck export again (in full) no more often than this */
  stuckExportRetryMs: number;
  /** a stage job evaluates this many rows at a time and writes its cells back between them (a killed job keeps what it wrote) */
  writeBackRows: number;
  /** ...but writes back no more often than this (cheap columns write a whole batch at once) */
  writeBackMs: number;
  /** a stage job running longer than this writes back and goes back to its queue for the rest */
  jobSliceMs: number;
  /** a UDF call that gives no result in this long fails its cells with UdfTimeout (0: no deadline; a UDF's own timeoutMs wins) */
  udfTimeoutMs: number;
  /**
   * a stopping worker whose Redis stays unreachable this long stops without it (its jobs can be
   * neither completed nor handed back meanwhile; their locks lapse and the fleet takes them again)
   */
  stopRedisWaitMs: number;
  /** ingest request ids (idempotency keys) are remembered this long; 0 keeps them forever */
  requestKeepHours: number;
  /** answered model calls older than this are forgotten by the periodic tick; 0 keeps them */
  responseCacheKeepHours: number;
  /**
   * finished jobs each queue keeps in Redis when their producer set no removeOnComplete /
   * removeOnFail (BullMQ keeps them all, and a stream of producer calls would fill Redis)
   */
  keepCompletedJobs: number;
  keepFailedJobs: number;
}

/** Read and check configuration from the environment; every problem is named at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): TesseraConfig {
  const r = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([k, v]) => k.startsWith('TESSERA_') && v !== '')));
  if (!r.success) {
    throw new ConfigError(`invalid configuration: ${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = r.data;
  const concurrency: Record<string, number> = {};
  for (const part of e.TESSERA_CONCURRENCY.split(',').filter(Boolean)) {
    const m = /^([A-Za-z0-9_.*-]+)=(\d+)$/.exec(part.trim());
    if (!m || Number(m[2]) < 1) throw new ConfigError(`invalid configuration: TESSERA_CONCURRENCY: "${part}" is not queue=N (N >= 1)`);
    concurrency[m[1]!] = Number(m[2]);
  }
  return {
    databaseUrl: e.TESSERA_DATABASE_URL,
    redisUrl: e.TESSERA_REDIS_URL,
    schema: e.TESSERA_SCHEMA,
    queuePrefix: e.TESSERA_QUEUE_PREFIX,
    batchSize: e.TESSERA_BATCH_SIZE,
    batchBytes: e.TESSERA_BATCH_BYTES,
    mediaDestination: e.TESSERA_MEDIA_DESTINATION,
    cacheDir: e.TESSERA_MEDIA_CACHE_DIR,
    pipelines: e.TESSERA_PIPELINES,
    jobAttempts: e.TESSERA_JOB_ATTEMPTS,
    lockMs: e.TESSERA_LOCK_MS,
    exportRetryMaxMs: e.TESSERA_EXPORT_RETRY_MAX_MS,
    exportRetryForMs: e.TESSERA_EXPORT_RETRY_FOR_MS,
    concurrency,
    workerPort: e.TESSERA_WORKER_PORT,
    logLevel: e.TESSERA_LOG_LEVEL,
    responseCache: e.TESSERA_RESPONSE_CACHE,
    limiterMaxWaitMs: e.TESSERA_LIMITER_MAX_WAIT_MS,
    ingestWindowMs: e.TESSERA_INGEST_WINDOW_MS,
    ingestBusyWindowMs: e.TESSERA_INGEST_BUSY_WINDOW_MS,
    ingestMaxRows: e.TESSERA_INGEST_MAX_ROWS,
    ingestClaim: e.TESSERA_INGEST_CLAIM,
    ingestClaimBytes: e.TESSERA_INGEST_CLAIM_BYTES,
    workerHost: e.TESSERA_WORKER_HOST,
    ...(e.TESSERA_WORKER_TOKEN ? { workerToken: e.TESSERA_WORKER_TOKEN } : {}),
    maxValueBytes: e.TESSERA_MAX_VALUE_BYTES,
    maxJsonDepth: e.TESSERA_MAX_JSON_DEPTH,
    maxRowBytes: e.TESSERA_MAX_ROW_BYTES,
    maxIngestBytes: e.TESSERA_MAX_INGEST_BYTES,
    maxWriteRows: e.TESSERA_MAX_WRITE_ROWS,
    reconcileEveryMs: e.TESSERA_RECONCILE_EVERY_MS,
    reconcileGraceMs: e.TESSERA_RECONCILE_GRACE_MS,
    stuckExportRetryMs: e.TESSERA_STUCK_EXPORT_RETRY_MS,
    writeBackRows: e.TESSERA_WRITE_BACK_ROWS,
    writeBackMs: e.TESSERA_WRITE_BACK_MS,
    jobSliceMs: e.TESSERA_JOB_SLICE_MS,
    udfTimeoutMs: e.TESSERA_UDF_TIMEOUT_MS,
    stopRedisWaitMs: e.TESSERA_STOP_REDIS_WAIT_MS,
    requestKeepHours: e.TESSERA_REQUEST_KEEP_HOURS,
    responseCacheKeepHours: e.TESSERA_RESPONSE_CACHE_KEEP_HOURS,
    keepCompletedJobs: e.TESSERA_KEEP_COMPLETED_JOBS,
    keepFailedJobs: e.TESSERA_KEEP_FAILED_JOBS,
  };
}
