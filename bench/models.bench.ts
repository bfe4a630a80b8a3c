/**
 * bench:models — model calls under one fleet-wide rate limit, end to end, in one run:
 *  - Tessera: the local OpenAI-compatible test server limited (per model) to 1,200 RPM and 200,000
 *    TPM with 100 ms latency; a pipeline (bench/pipelines/models-bench) with embeddings of 5,000
 *    chunk rows and chat completions for 1,000 rows; 4 real worker processes (apps/worker) share the
 *    RedisRateGate; from the insert until every cell is computed;
 *  - beside it, the same requests made by a plain loop of the openai SDK with its default retries,
 *    at the same concurrency (the calls Tessera's fleet can have in flight per model), on a fresh server.
 * Prints achieved requests/min and tokens/min per model at the server as a fraction of the limit
 * (bar: >= 0.9 of the binding limit for each model, 429s <= 1% of requests), the baseline's
 * completion time and 429s, and the ratio of the completion times; ends with one `BENCH {...}` line.
 * The server enforces RPM pro rata over sliding 10 s windows (200 requests; providers quantize
 * per-minute limits; BENCH_REQUEST_WINDOW_MS=1000 makes it 20 per second) and TPM over 60 s.
 *
 *   npm run bench:models     (BENCH_CHUNKS=5000 BENCH_ROWS=1000)
 */
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import OpenAI from 'openai';
import { Engine, loadConfig } from '@tessera/runtime';
import { startOpenAIServer, type Arrival, type OpenAIServer } from '../test/support/openai-server';
import { chunkText, rowText } from '../test/support/openai-server/fleet/texts';
import { spawnWorker, type WorkerProcess } from '../test/support/worker-process';
import { cleanup } from '../test/support/cleanup';
import def, { CHAT_MODEL, EMBED_MODEL } from './pipelines/models-bench/index';

const RPM = 1200;
const TPM = 200_000;
const LATENCY_MS = 100;
const REQUEST_WINDOW_MS = Number(process.env.BENCH_REQUEST_WINDOW_MS ?? 10_000);
const WORKERS = 4;
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 5000);
const ROWS = Number(process.env.BENCH_ROWS ?? 1000);
/** rows per job; an embedding job is one request of 100 inputs */
const BATCH = 100;
/** jobs per worker process on each model queue; a chat job runs 16 calls at a time (the stage's lanes) */
const CHAT_JOBS = 1;
const EMBED_JOBS = 4;
const LANES = 16;
const CONCURRENCY = { chat: WORKERS * CHAT_JOBS * LANES, embed: WORKERS * EMBED_JOBS };
const BAR_FRACTION = 0.9;
const BAR_429 = 0.01;
const KEY = 'sk-bench-local-key';
const serverOptions = { rpm: RPM, tpm: TPM, latencyMs: LATENCY_MS, requestWindowMs: REQUEST_WINDOW_MS, tokenWindowMs: 60_000, apiKey: KEY, embeddingDim: 256 };

/** Achieved rates of one model at the server: answered requests and tokens per minute over its active span. */
function rates(arrivals: Arrival[], model: string) {
  const ok = arrivals.filter((a) => a.model === model && a.status === 200);
  const all = arrivals.filter((a) => a.model === model);
  const span = Math.max(1, (ok.at(-1)?.t ?? 0) - (ok[0]?.t ?? 0));
  // n requests evenly paced span (n - 1) intervals: count all but the last one
  const rpm = ((ok.length - 1) / span) * 60_000;
  const tpm = (ok.slice(0, -1).reduce((s, a) => s + a.tokens, 0) / span) * 60_000;
  return {
    requests: all.length,
    answered: ok.length,
    n429: all.filter((a) => a.status === 429).length,
    spanS: +(span / 1000).toFixed(2),
    rpm: Math.round(rpm),
    tpm: Math.round(tpm),
    rpmFraction: +(rpm / RPM).toFixed(3),
    tpmFraction: +(tpm / TPM).toFixed(3),
    bindingFraction: +Math.max(rpm / RPM, tpm / TPM).toFixed(3),
    binding: rpm / RPM >= tpm / TPM ? 'rpm' : 'tpm',
  };
}

function summary(server: OpenAIServer, started: number, ended: number) {
  const arrivals = server.arrivals.filter((a) => a.t >= started);
  const n429 = arrivals.filter((a) => a.status === 429).length;
  return {
    completionS: +((ended - started) / 1000).toFixed(2),
    requests: arrivals.length,
    n429,
    share429: +(n429 / Math.max(1, arrivals.length)).toFixed(4),
    maxRequestsPer1s: { chat: server.maxRequestsInWindow(1000, CHAT_MODEL), embed: server.maxRequestsInWindow(1000, EMBED_MODEL) },
    chat: rates(arrivals, CHAT_MODEL),
    embed: rates(arrivals, EMBED_MODEL),
  };
}

/** Sum a counter over the workers' /metrics, e.g. tessera_jobs_total{..., outcome="requeued"}. */
async function scrape(workers: WorkerProcess[], name: string, labels: RegExp): Promise<number> {
  let sum = 0;
  for (const w of workers) {
    for (const line of (await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text()).split('\n')) {
      const m = new RegExp(`^${name}\\{([^}]*)\\} (\\d+)`).exec(line);
      if (m && labels.test(m[1]!)) sum += Number(m[2]);
    }
  }
  return sum;
}

const chunkRows = Array.from({ length: CHUNKS }, (_, i) => ({ id: i, text: chunkText(i) }));
const chatRows = Array.from({ length: ROWS }, (_, i) => ({ id: i, text: rowText(i) }));

async function tessera() {
  const server = await startOpenAIServer(serverOptions);
  const id = randomBytes(3).toString('hex');
  const env = {
    TESSERA_DATABASE_URL: process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    TESSERA_REDIS_URL: process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379',
    TESSERA_SCHEMA: `bench_models_${id}`,
    TESSERA_QUEUE_PREFIX: `bench-models-${id}`,
    TESSERA_PIPELINES: path.resolve(import.meta.dirname, 'pipelines/models-bench'),
    TESSERA_BATCH_SIZE: String(BATCH),
    TESSERA_CONCURRENCY: `model-openai-${CHAT_MODEL}=${CHAT_JOBS},model-openai-${EMBED_MODEL}=${EMBED_JOBS}`,
    TESSERA_RATE_LIMITS: JSON.stringify({ [`openai:${CHAT_MODEL}`]: { rpm: RPM, tpm: TPM }, [`openai:${EMBED_MODEL}`]: { rpm: RPM, tpm: TPM } }),
    TESSERA_LOG_LEVEL: 'warn',
    BENCH_OPENAI_URL: server.url,
    BENCH_OPENAI_KEY: KEY,
  };
  process.env.BENCH_OPENAI_URL = server.url;
  const config = loadConfig(env);
  const engine = await Engine.connect(config);
  let workers: WorkerProcess[] = [];
  try {
    await engine.apply(def);
    // applied first: a worker consumes the model queues of the catalog it finds at start
    workers = await Promise.all(Array.from({ length: WORKERS }, () => spawnWorker(env)));
    const started = Date.now();
    await Promise.all([engine.insert('models-bench', 'chunks', chunkRows), engine.insert('models-bench', 'rows', chatRows)]);
    await engine.waitIdle('models-bench', { timeoutMs: 900_000, pollMs: 100 });
    const ended = Date.now();
    const errors = (await engine.store.errors('models-bench', 'chunks')).length + (await engine.store.errors('models-bench', 'rows')).length;
    const usage = { chunks: await engine.store.usage('models-bench', 'chunks'), rows: await engine.store.usage('models-bench', 'rows') };
    return {
      ...summary(server, started, ended),
      cellErrors: errors,
      requeuedJobs: await scrape(workers, 'tessera_jobs_total', /outcome="requeued"/),
      retriedAttempts: await scrape(workers, 'tessera_job_retries_total', /queue="model-/),
      waitedInJob: (usage.chunks.embedding?.limiterWaits ?? 0) + (usage.rows.summary?.limiterWaits ?? 0),
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await engine.close();
    await cleanup(config);
    await server.close();
  }
}

/** The same requests by a plain loop of the openai SDK (default retries), at Tessera's concurrency per model. */
async function plain() {
  const server = await startOpenAIServer(serverOptions);
  const client = new OpenAI({ baseURL: server.url, apiKey: KEY }); // maxRetries: 2, honours retry-after
  let failures = 0;
  const loop = async (jobs: Array<() => Promise<unknown>>, lanes: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: lanes }, async () => {
        while (next < jobs.length) {
          const job = jobs[next++]!;
          // a request that still fails after the SDK's retries is tried again
          for (;;) {
            try {
              await job();
              break;
            } catch {
              failures++;
            }
          }
        }
      }),
    );
  };
  const chat = chatRows.map(
    (r) => () => client.chat.completions.create({ model: CHAT_MODEL, max_tokens: 100, messages: [{ role: 'user', content: `Summarise: ${r.text}` }] }),
  );
  const embed: Array<() => Promise<unknown>> = [];
  for (let i = 0; i < CHUNKS; i += BATCH) {
    const input = chunkRows.slice(i, i + BATCH).map((r) => r.text);
    embed.push(() => client.embeddings.create({ model: EMBED_MODEL, dimensions: 256, input }));
  }
  try {
    const started = Date.now();
    await Promise.all([loop(chat, CONCURRENCY.chat), loop(embed, CONCURRENCY.embed)]);
    return { ...summary(server, started, Date.now()), failuresAfterSdkRetries: failures };
  } finally {
    await server.close();
  }
}

async function main() {
  const t0 = Date.now();
  console.log(`models bench: ${WORKERS} worker processes; ${CHUNKS} chunks to embed (${BATCH} per request), ${ROWS} rows to chat;`);
  console.log(`server per model: ${RPM} RPM (${REQUEST_WINDOW_MS / 1000} s windows), ${TPM} TPM (60 s windows), ${LATENCY_MS} ms latency;`);
  console.log(
    `calls in flight at most, per model: chat ${CONCURRENCY.chat} (${WORKERS} x ${CHAT_JOBS} job x ${LANES}), embeddings ${CONCURRENCY.embed} (${WORKERS} x ${EMBED_JOBS} jobs x 1)\n`,
  );
  const line = (name: string, r: ReturnType<typeof rates>) =>
    console.log(
      `  ${name.padEnd(6)} ${String(r.answered).padStart(5)} answered in ${r.spanS}s: ${r.rpm} req/min (${r.rpmFraction} of RPM), ` +
        `${r.tpm} tok/min (${r.tpmFraction} of TPM); binding ${r.binding} at ${r.bindingFraction}; 429s ${r.n429}`,
    );

  const ours = await tessera();
  console.log(
    `Tessera (pipeline, ${WORKERS} workers, RedisRateGate): done in ${ours.completionS}s, ${ours.requests} requests, ${ours.n429} x 429 (${(ours.share429 * 100).toFixed(2)}%), ${ours.cellErrors} cell errors`,
  );
  line('chat', ours.chat);
  line('embed', ours.embed);
  console.log(
    `  most requests in any 1 s window at the server: chat ${ours.maxRequestsPer1s.chat}, embed ${ours.maxRequestsPer1s.embed} (${RPM / 60} per second pro rata)`,
  );
  console.log(
    `  jobs sent back to their queue to wait for the limiter: ${ours.requeuedJobs}; attempts spent on failures: ${ours.retriedAttempts}; calls that waited in their job: ${ours.waitedInJob}\n`,
  );

  const base = await plain();
  console.log(
    `plain openai SDK loop (default retries), same concurrency: done in ${base.completionS}s, ${base.requests} requests, ${base.n429} x 429 (${(base.share429 * 100).toFixed(2)}%), ${base.failuresAfterSdkRetries} failures after the SDK's retries`,
  );
  line('chat', base.chat);
  line('embed', base.embed);
  const ratio = +(base.completionS / ours.completionS).toFixed(3);
  console.log(`\ncompletion time ratio plain / Tessera: ${ratio}  (429s: Tessera ${ours.n429}, plain ${base.n429})`);

  const pass = ours.chat.bindingFraction >= BAR_FRACTION && ours.embed.bindingFraction >= BAR_FRACTION && ours.share429 <= BAR_429 && ours.cellErrors === 0;
  console.log(`bar: binding fraction >= ${BAR_FRACTION} for each model and 429s <= ${BAR_429 * 100}% of requests -> ${pass ? 'PASS' : 'FAIL'}`);
  console.log(
    `BENCH ${JSON.stringify({
      bench: 'models',
      setup: {
        rpm: RPM,
        tpm: TPM,
        requestWindowMs: REQUEST_WINDOW_MS,
        tokenWindowMs: 60_000,
        latencyMs: LATENCY_MS,
        workers: WORKERS,
        chunks: CHUNKS,
        rows: ROWS,
        rowsPerJob: BATCH,
        concurrency: CONCURRENCY,
      },
      tessera: ours,
      plain: base,
      ratioCompletionPlainOverTessera: ratio,
      bar: { bindingFraction: BAR_FRACTION, max429Share: BAR_429 },
      pass,
      totalS: +((Date.now() - t0) / 1000).toFixed(1),
    })}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
