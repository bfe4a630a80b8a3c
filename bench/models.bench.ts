/**
 * Model calls under the fleet-wide rate limit, in one run:
 *  - against the local OpenAI-compatible server limited (per model) to 1,200 RPM and 200,000 TPM
 *    with 100 ms latency, 4 worker processes compute embeddings for 5,000 chunks and chat
 *    completions for 1,000 rows through @tessera/functions' UDFs and the RedisRateGate;
 *  - beside it, the same work by a plain loop of the openai SDK with its default retries at the same
 *    concurrency (no limiter), on a fresh server.
 * Prints achieved requests/min and tokens/min per model as a fraction of the limit (bar: >= 0.9 of
 * the binding limit, 429s <= 1% of requests), the baseline's completion time and 429s, and the ratio.
 * The server enforces RPM pro rata over sliding 10 s windows (200 requests; providers quantize
 * per-minute limits; BENCH_REQUEST_WINDOW_MS=1000 makes it 20 per second, which needs more headroom
 * than a loaded shared host gives) and TPM over sliding 60 s windows. The most requests seen in any
 * 1 s window is printed too.
 *
 *   npx tsx bench/models.bench.ts     (BENCH_CHUNKS=5000 BENCH_ROWS=1000 BENCH_CONCURRENCY=8)
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { maxInAnyWindow, startOpenAIServer, type Arrival, type OpenAIServer } from '../test/support/openai-server';
import { runFleet } from '../test/support/openai-server/fleet/pool';
import type { FleetWorkerConfig, FleetWorkerResult } from '../test/support/openai-server/fleet/worker';

const RPM = 1200;
const TPM = 200_000;
const LATENCY_MS = 100;
/** RPM is enforced pro rata over this sliding window (providers quantize per-minute limits) */
const REQUEST_WINDOW_MS = Number(process.env.BENCH_REQUEST_WINDOW_MS ?? 10_000);
const WORKERS = 4;
const CHUNKS = Number(process.env.BENCH_CHUNKS ?? 5000);
const ROWS = Number(process.env.BENCH_ROWS ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const REDIS_URL = process.env.TESSERA_REDIS_URL ?? 'redis://127.0.0.1:6379';
const BAR_FRACTION = 0.9;
const BAR_429 = 0.01;
const CHAT = 'bench-chat';
const EMBED = 'bench-embed';
const KEY = 'sk-bench-local-key';

const serverOptions = { rpm: RPM, tpm: TPM, latencyMs: LATENCY_MS, requestWindowMs: REQUEST_WINDOW_MS, tokenWindowMs: 60_000, apiKey: KEY, embeddingDim: 256 };

function configs(mode: 'gate' | 'plain', server: OpenAIServer, prefix: string): FleetWorkerConfig[] {
  const split = (n: number, w: number) => Array.from({ length: n }, (_, i) => i).filter((i) => i % WORKERS === w);
  return Array.from({ length: WORKERS }, (_, w) => ({
    mode,
    serverUrl: server.url,
    redisUrl: REDIS_URL,
    prefix,
    workerId: w,
    concurrency: CONCURRENCY,
    // the gate's defaults (0.95 of the limit); a slot may be used up to 5% of the provider's window late
    lateToleranceMs: REQUEST_WINDOW_MS * 0.05,
    chat: { model: CHAT, maxTokens: 100, rows: split(ROWS, w) },
    embed: { model: EMBED, rows: split(CHUNKS, w), rowsPerJob: 100, dimensions: 256, maxInputsPerRequest: 100 },
  }));
}

/** Achieved rates of one model at the server: answered requests and tokens per minute over its active span. */
function rates(arrivals: Arrival[], model: string) {
  const ok = arrivals.filter((a) => a.model === model && a.status === 200);
  const all = arrivals.filter((a) => a.model === model);
  const first = ok[0]?.t ?? 0;
  const last = ok.at(-1)?.t ?? 0;
  const span = Math.max(1, last - first);
  // n requests evenly paced span (n - 1) intervals: count all but the last one
  const rpm = ((ok.length - 1) / span) * 60_000;
  const tpm = (ok.slice(0, -1).reduce((s, a) => s + a.tokens, 0) / span) * 60_000;
  const n429 = all.filter((a) => a.status === 429).length;
  return {
    requests: all.length,
    answered: ok.length,
    n429,
    spanS: +(span / 1000).toFixed(2),
    rpm: Math.round(rpm),
    tpm: Math.round(tpm),
    rpmFraction: +(rpm / RPM).toFixed(3),
    tpmFraction: +(tpm / TPM).toFixed(3),
    bindingFraction: +Math.max(rpm / RPM, tpm / TPM).toFixed(3),
    binding: rpm / RPM >= tpm / TPM ? 'rpm' : 'tpm',
  };
}

async function run(mode: 'gate' | 'plain') {
  const server = await startOpenAIServer(serverOptions);
  const prefix = `tessera:bench:rl:${randomUUID().slice(0, 8)}:`;
  let started = 0;
  let results: FleetWorkerResult[];
  try {
    results = await runFleet(
      configs(mode, server, prefix),
      { FLEET_API_KEY: KEY, TESSERA_RATE_LIMITS: JSON.stringify({ [`openai:${CHAT}`]: { rpm: RPM, tpm: TPM }, [`openai:${EMBED}`]: { rpm: RPM, tpm: TPM } }) },
      () => (started = Date.now()),
    );
  } finally {
    await server.close();
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    await redis.quit();
  }
  const ended = Math.max(...results.map((r) => r.endedAt));
  const arrivals = server.arrivals.filter((a) => a.t >= started);
  const requests = arrivals.length;
  const n429 = arrivals.filter((a) => a.status === 429).length;
  return {
    completionS: +((ended - started) / 1000).toFixed(2),
    requests,
    n429,
    share429: +(n429 / Math.max(1, requests)).toFixed(4),
    done: results.reduce((s, r) => s + r.done, 0),
    cellErrors: results.reduce((s, r) => s + r.cellErrors, 0),
    rateLimitedReturns: results.reduce((s, r) => s + r.rateLimited, 0),
    lateSlots: results.reduce((s, r) => s + (r.usage.lateSlots ?? 0), 0),
    maxRequestsPer1s: { chat: server.maxRequestsInWindow(1000, CHAT), embed: server.maxRequestsInWindow(1000, EMBED) },
    /** the same count on the gate's grants (Redis clock): what the limiter decided, before any delivery delay */
    maxGrantsPer1s: maxInAnyWindow(results.flatMap((r) => r.grants), 1000),
    chat: rates(arrivals, CHAT),
    embed: rates(arrivals, EMBED),
  };
}

async function main() {
  const t0 = Date.now();
  console.log(`models bench: ${WORKERS} processes x ${CONCURRENCY} jobs per queue; ${CHUNKS} chunks to embed, ${ROWS} rows to chat;`);
  console.log(`server per model: ${RPM} RPM (${REQUEST_WINDOW_MS / 1000} s windows), ${TPM} TPM (60 s windows), ${LATENCY_MS} ms latency\n`);

  const ours = await run('gate');
  const line = (name: string, r: ReturnType<typeof rates>) =>
    console.log(
      `  ${name.padEnd(6)} ${String(r.answered).padStart(5)} answered in ${r.spanS}s: ${r.rpm} req/min (${r.rpmFraction} of RPM), ` +
        `${r.tpm} tok/min (${r.tpmFraction} of TPM); binding ${r.binding} at ${r.bindingFraction}; 429s ${r.n429}`,
    );
  console.log(`Tessera (RedisRateGate + UDFs): done ${ours.done} in ${ours.completionS}s, ${ours.requests} requests, ${ours.n429} x 429 (${(ours.share429 * 100).toFixed(2)}%)`);
  line('chat', ours.chat);
  line('embed', ours.embed);
  console.log(`  most requests in any 1 s window at the server: chat ${ours.maxRequestsPer1s.chat}, embed ${ours.maxRequestsPer1s.embed} (${RPM / 60} per second pro rata); most grants in any 1 s at the gate (both models): ${ours.maxGrantsPer1s}`);
  console.log(`  jobs returned to the queue by the limiter: ${ours.rateLimitedReturns}; stale slots retaken: ${ours.lateSlots}\n`);

  const plain = await run('plain');
  console.log(`plain openai SDK loop (default retries): done ${plain.done} in ${plain.completionS}s, ${plain.requests} requests, ${plain.n429} x 429 (${(plain.share429 * 100).toFixed(2)}%)`);
  line('chat', plain.chat);
  line('embed', plain.embed);
  const ratio = +(plain.completionS / ours.completionS).toFixed(3);
  console.log(`\ncompletion time ratio plain / Tessera: ${ratio}  (429s: Tessera ${ours.n429}, plain ${plain.n429})`);

  const pass = ours.chat.bindingFraction >= BAR_FRACTION && ours.embed.bindingFraction >= BAR_FRACTION && ours.share429 <= BAR_429;
  console.log(`bar: binding fraction >= ${BAR_FRACTION} for each model and 429s <= ${BAR_429 * 100}% -> ${pass ? 'PASS' : 'FAIL'}`);
  console.log(
    `BENCH ${JSON.stringify({
      bench: 'models',
      limits: { rpm: RPM, tpm: TPM, requestWindowMs: REQUEST_WINDOW_MS, tokenWindowMs: 60_000, latencyMs: LATENCY_MS, workers: WORKERS, concurrency: CONCURRENCY, chunks: CHUNKS, rows: ROWS },
      tessera: {
        completionS: ours.completionS,
        requests: ours.requests,
        n429: ours.n429,
        share429: ours.share429,
        chat: ours.chat,
        embed: ours.embed,
        maxRequestsPer1s: ours.maxRequestsPer1s,
        maxGrantsPer1s: ours.maxGrantsPer1s,
      },
      plain: { completionS: plain.completionS, requests: plain.requests, n429: plain.n429, share429: plain.share429, chat: plain.chat, embed: plain.embed },
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
