/**
 * One fleet worker process for the multi-process limiter test: the UDFs and the RedisRateGate
 * without BullMQ (the real worker is tested in test/e2e). Jobs that hit the rate gate go back to
 * this process's list (its lanes of that kind pause for waitMs), transient errors retry with
 * backoff and jitter, cell errors are final. Mode `plain`: the openai SDK with its default retries.
 * Reads its config from FLEET_CONFIG, prints READY, starts on a line on stdin, prints one JSON line.
 */
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import OpenAI from 'openai';
import { CellInputError, RateLimitedError, TransientError, isJobLevelError } from '@tessera/core';
import { chatUdf, countTokens, embeddingsUdf, type ModelUdfContext } from '@tessera/functions';
import { RedisRateGate } from '../../../../packages/runtime/src/limiter';
import { chunkText, rowText } from './texts';

export interface FleetWorkerConfig {
  mode: 'gate' | 'plain';
  serverUrl: string;
  redisUrl: string;
  prefix: string;
  workerId: number;
  /** jobs in flight in this process */
  concurrency: number;
  chat?: { model: string; rows: number[]; maxTokens: number };
  embed?: { model: string; rows: number[]; rowsPerJob: number; dimensions: number; maxInputsPerRequest: number };
  utilization?: number;
  lateToleranceMs?: number;
}

export interface FleetWorkerResult {
  workerId: number;
  done: number;
  cellErrors: number;
  transientRetries: number;
  rateLimited: number;
  usage: Record<string, number>;
  startedAt: number;
  endedAt: number;
  /** slot starts the gate granted (Redis clock, ms) */
  grants: number[];
}

type Job = { kind: 'chat' | 'embed'; rows: number[]; attempts: number; notBefore: number; partlyDone?: number };

const cfg = JSON.parse(process.env.FLEET_CONFIG ?? '{}') as FleetWorkerConfig;
const usage: Record<string, number> = {};
const redis = new Redis(cfg.redisUrl, { maxRetriesPerRequest: 3 });
const grants: number[] = [];
const gate = new RedisRateGate({
  redis,
  prefix: cfg.prefix,
  ...(cfg.utilization ? { utilization: cfg.utilization } : {}),
  ...(cfg.lateToleranceMs ? { lateToleranceMs: cfg.lateToleranceMs } : {}),
  onEvent: (e) => {
    if (e.type === 'granted') grants.push(e.slotMs);
    if (e.type === 'late') usage.lateSlots = (usage.lateSlots ?? 0) + 1;
  },
});
const ctx: ModelUdfContext = {
  media: { defaultDestination: 'file:///tmp', localPath: async (r) => r, write: async () => '' },
  column: { table: 'bench', name: 'out' },
  rateGate: gate,
  cacheMode: 'off',
  usage: (c, n) => {
    usage[c] = (usage[c] ?? 0) + n;
  },
};
const conn = { baseURL: cfg.serverUrl, apiKeyEnv: 'FLEET_API_KEY' };
const chat = cfg.chat && chatUdf({ ...conn, model: cfg.chat.model, maxTokens: cfg.chat.maxTokens, prompt: 'Summarise: {input}' });
const embed =
  cfg.embed && embeddingsUdf({ ...conn, model: cfg.embed.model, dimensions: cfg.embed.dimensions, maxInputsPerRequest: cfg.embed.maxInputsPerRequest });
const plain = new OpenAI({ baseURL: cfg.serverUrl, apiKey: process.env.FLEET_API_KEY ?? 'x' }); // default retries (2)

async function runJob(job: Job): Promise<number> {
  if (cfg.mode === 'plain') {
    if (job.kind === 'chat') {
      await plain.chat.completions.create({
        model: cfg.chat!.model,
        max_tokens: cfg.chat!.maxTokens,
        messages: [{ role: 'user', content: `Summarise: ${rowText(job.rows[0]!)}` }],
      });
    } else {
      await plain.embeddings.create({ model: cfg.embed!.model, dimensions: cfg.embed!.dimensions, input: job.rows.map(chunkText) });
    }
    return 0;
  }
  if (job.kind === 'chat') {
    try {
      await chat!.spec.fn!([rowText(job.rows[0]!)], ctx);
      return 0;
    } catch (err) {
      if (err instanceof CellInputError) return 1;
      throw err;
    }
  }
  const out = await embed!.spec.batch!.fn(
    job.rows.map((i) => [chunkText(i)] as [string]),
    ctx,
  );
  // rows whose request was rate limited or failed transiently come back as that error: the job
  // keeps the rows that are done and goes back to the queue with the others, as the runtime does
  const again = job.rows.filter((_, k) => isJobLevelError(out[k]));
  if (again.length) {
    job.partlyDone = (job.partlyDone ?? 0) + job.rows.length - again.length;
    job.rows = again;
    throw out.find(isJobLevelError);
  }
  return out.filter((v) => v instanceof Error).length;
}

async function main() {
  // one job list per queue, as a worker process runs one BullMQ Worker per queue
  const queues: Record<Job['kind'], Job[]> = { chat: [], embed: [] };
  for (const r of cfg.chat?.rows ?? []) queues.chat.push({ kind: 'chat', rows: [r], attempts: 0, notBefore: 0 });
  const per = cfg.embed?.rowsPerJob ?? 1;
  const er = cfg.embed?.rows ?? [];
  for (let i = 0; i < er.length; i += per) queues.embed.push({ kind: 'embed', rows: er.slice(i, i + per), attempts: 0, notBefore: 0 });
  const result: FleetWorkerResult = {
    workerId: cfg.workerId,
    done: 0,
    cellErrors: 0,
    transientRetries: 0,
    rateLimited: 0,
    usage,
    startedAt: 0,
    endedAt: 0,
    grants,
  };

  // load what a long-running worker has loaded by its first job: the tokenizer and fetch
  if (cfg.mode === 'gate') await Promise.all([countTokens(cfg.chat?.model ?? '', 'warm'), countTokens(cfg.embed?.model ?? '', 'warm')]);
  await fetch('data:text/plain,ok').then((r) => r.text());
  process.stdout.write('READY\n');
  const rl = createInterface({ input: process.stdin });
  await new Promise<void>((r) => rl.once('line', () => r()));
  rl.close();
  result.startedAt = Date.now();

  const pausedUntil: Record<Job['kind'], number> = { chat: 0, embed: 0 };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const lane = async (kind: Job['kind']) => {
    const jobs = queues[kind];
    for (;;) {
      const now = Date.now();
      if (pausedUntil[kind] > now) {
        await sleep(pausedUntil[kind] - now);
        continue;
      }
      const i = jobs.findIndex((j) => j.notBefore <= now);
      if (i < 0) {
        if (jobs.length === 0) return;
        await sleep(Math.max(1, Math.min(...jobs.map((j) => j.notBefore)) - now));
        continue;
      }
      const job = jobs.splice(i, 1)[0]!;
      try {
        result.cellErrors += await runJob(job);
        result.done += job.rows.length;
      } catch (err) {
        result.done += job.partlyDone ?? 0;
        job.partlyDone = 0;
        if (err instanceof RateLimitedError) {
          // worker.rateLimit(ms) + Worker.RateLimitError(): back to the queue, no attempt spent
          result.rateLimited++;
          pausedUntil[kind] = Math.max(pausedUntil[kind], Date.now() + err.waitMs);
          jobs.unshift(job);
        } else if (err instanceof TransientError || cfg.mode === 'plain') {
          // the queue's retry with exponential backoff and jitter (a plain loop just tries again)
          result.transientRetries++;
          job.attempts++;
          const backoff =
            err instanceof TransientError && err.retryAfterMs !== undefined
              ? err.retryAfterMs
              : Math.min(5000, 100 * 2 ** job.attempts) * (0.5 + Math.random());
          job.notBefore = Date.now() + (cfg.mode === 'plain' ? 0 : backoff);
          jobs.push(job);
        } else {
          throw err;
        }
      }
    }
  };
  await Promise.all((['chat', 'embed'] as const).flatMap((kind) => Array.from({ length: cfg.concurrency }, () => lane(kind))));
  result.endedAt = Date.now();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  await redis.quit();
}

main().catch((err) => {
  process.stderr.write(`fleet worker ${cfg.workerId} failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
