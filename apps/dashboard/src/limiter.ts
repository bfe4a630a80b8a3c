import type { Engine } from '@tessera/runtime';

/** One fleet-wide rate-limit bucket (provider + model + API-key hash) as it is in Redis now. */
export interface BucketView {
  provider: string;
  model: string;
  keyHash: string | null;
  /** what the callers apply (TESSERA_RATE_LIMITS, the pipeline's or the code's limits); 0 = none */
  limits: { rpm: number; tpm: number; maxConcurrency: number };
  /** what the provider's rate-limit headers said; 0 = nothing learned */
  learned: { rpm: number; tpm: number };
  /** share of each limit the fleet aims for */
  utilization: number;
  /** what can still start within the coming minute (null: not limited); 0 while paused */
  left: { requests: number | null; tokens: number | null; concurrency: number | null };
  /** calls holding a concurrency slot (null: no concurrency limit, so none are tracked) */
  inFlight: number | null;
  pausedUntil: string | null;
}

const GLOB = /[*?[\]\\]/g;

/**
 * The limiter's buckets, read from Redis without touching them (SCAN, HGETALL, ZCOUNT) and timed by
 * the Redis clock, as the gate's scripts are. Bucket keys are `<queuePrefix>:rl:{provider:model:keyHash}`.
 */
export async function limiterBuckets(engine: Engine): Promise<BucketView[]> {
  const prefix = `${engine.config.queuePrefix}:rl:`;
  const redis = engine.redis;
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix.replace(GLOB, '\\$&')}{*}`, 'COUNT', 500);
    keys.push(...found);
    cursor = next;
  } while (cursor !== '0' && keys.length < 1000);
  const [sec, micro] = await redis.time();
  const now = Number(sec) * 1000 + Number(micro) / 1000;
  const out: BucketView[] = [];
  for (const key of [...new Set(keys)].sort()) {
    const tag = key.slice(prefix.length + 1, -1);
    const first = tag.indexOf(':');
    const last = tag.lastIndexOf(':');
    if (first < 0 || last === first) continue;
    const [h, inFlight] = await Promise.all([redis.hgetall(key), redis.zcount(`${key}:inflight`, `(${now}`, '+inf')]);
    const num = (f: string) => Number(h[f] ?? 0) || 0;
    const utilization = num('utilization') || 1;
    const paused = num('paused_until') > now;
    const limits = { rpm: num('limit_rpm'), tpm: num('limit_tpm'), maxConcurrency: num('limit_concurrency') };
    const learned = { rpm: num('learned_rpm'), tpm: num('learned_tpm') };
    out.push({
      provider: tag.slice(0, first),
      model: tag.slice(first + 1, last),
      keyHash: tag.slice(last + 1) === '-' ? null : tag.slice(last + 1),
      limits,
      learned,
      utilization,
      left: {
        requests: leftInMinute(tighter(limits.rpm, learned.rpm) * utilization, num('tat_r'), now, paused),
        tokens: leftInMinute(tighter(limits.tpm, learned.tpm) * utilization, num('tat_t'), now, paused),
        concurrency: limits.maxConcurrency ? Math.max(0, limits.maxConcurrency - inFlight) : null,
      },
      inFlight: limits.maxConcurrency ? inFlight : null,
      pausedUntil: paused ? new Date(num('paused_until')).toISOString() : null,
    });
  }
  return out;
}

/** The tighter of a configured and a learned limit (0 = none), as reserve.lua takes it. */
const tighter = (configured: number, learned: number) => (learned > 0 && (configured <= 0 || learned < configured) ? learned : configured);

/**
 * GCRA: the schedule is booked up to `tat`; of a minute's `perMinute`, what is booked ahead of now is
 * taken, the rest can still start within the coming minute.
 */
function leftInMinute(perMinute: number, tat: number, now: number, paused: boolean): number | null {
  if (perMinute <= 0) return null;
  if (paused) return 0;
  const booked = (Math.max(0, tat - now) * perMinute) / 60_000;
  return Math.max(0, Math.floor(perMinute - booked));
}
