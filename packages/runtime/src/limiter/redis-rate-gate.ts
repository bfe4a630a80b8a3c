import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimitedError, type RateGate, type RateKey, type Reservation } from '@tessera/core';
import { scripts, runScript } from './scripts';
import { bucketKeys } from './bucket-keys';
import { limitTableFromEnv, lookupLimits, resolveLimits, type LimitTable, type ModelLimits } from './limits';
import { parseRateLimitHeaders } from './rate-limit-headers';

/** A RateKey may carry the limits its pipeline declared (used when neither env nor code sets them). */
export type LimitedRateKey = RateKey & { limits?: ModelLimits };

export interface RedisRateGateOptions {
  redis: Redis;
  /** key prefix; default `tessera:rl:` */
  prefix?: string;
  /** limits set in code (fallbacks below TESSERA_RATE_LIMITS and the pipeline's own limits) */
  limits?: LimitTable;
  /** where TESSERA_RATE_LIMITS is read; default process.env */
  env?: Record<string, string | undefined>;
  /** waits up to this long in-process; longer waits throw RateLimitedError; default 2000 ms */
  maxWaitMs?: number;
  /** a concurrency slot is freed after this long even if never settled (a crashed worker); default 120 s */
  leaseMs?: number;
  /** share of each limit the fleet aims for, leaving room for network jitter; default 0.95 */
  utilization?: number;
  /**
   * a slot this late when the caller gets to use it (a stalled process, a slow Redis) is given up and a
   * new one taken, so stale slots never bunch up with on-time ones at the provider; default 250 ms
   */
  lateToleranceMs?: number;
  /** how often to look again when the concurrency limit is full; default 50 ms */
  concurrencyPollMs?: number;
  /** observe waits and refusals (for metrics: "calls waiting on the limiter") */
  onEvent?: (e: GateEvent) => void;
}

export type GateEvent =
  | { type: 'granted'; key: RateKey; waitedMs: number /** the slot's start on the Redis clock */; slotMs: number }
  | { type: 'refused'; key: RateKey; waitMs: number; reason: string }
  | { type: 'paused'; key: RateKey; pauseMs: number }
  | { type: 'late'; key: RateKey; lateMs: number };

/** Buckets idle this long are dropped from Redis. */
const IDLE_TTL_MS = 10 * 60_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The fleet-wide rate limit over Redis: per provider + model (+ API key hash) buckets for requests
 * and tokens per minute plus a concurrency cap, shared by every worker on every host.
 */
export class RedisRateGate implements RateGate {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly envLimits: LimitTable;
  private readonly codeLimits: LimitTable;
  private readonly maxWaitMs: number;
  private readonly leaseMs: number;
  private readonly utilization: number;
  private readonly pollMs: number;
  private readonly lateToleranceMs: number;
  private readonly onEvent: ((e: GateEvent) => void) | undefined;

  constructor(opts: RedisRateGateOptions) {
    this.redis = opts.redis;
    this.prefix = opts.prefix ?? 'tessera:rl:';
    this.envLimits = limitTableFromEnv(opts.env ?? process.env);
    this.codeLimits = opts.limits ?? {};
    this.maxWaitMs = opts.maxWaitMs ?? 2000;
    this.leaseMs = opts.leaseMs ?? 120_000;
    this.utilization = opts.utilization ?? 0.95;
    this.pollMs = opts.concurrencyPollMs ?? 50;
    this.lateToleranceMs = opts.lateToleranceMs ?? 250;
    this.onEvent = opts.onEvent;
  }

  /** The limits in force for a key (before what the provider's headers taught). */
  limitsFor(key: LimitedRateKey) {
    return resolveLimits([...lookupLimits(this.envLimits, key.provider, key.model), key.limits, ...lookupLimits(this.codeLimits, key.provider, key.model)]);
  }

  async acquire(key: LimitedRateKey, estimatedTokens: number): Promise<Reservation> {
    const { bucket, inflight } = bucketKeys(this.prefix, key);
    const limits = this.limitsFor(key);
    const tokens = Math.max(0, Math.ceil(estimatedTokens));
    const began = Date.now();
    const deadline = began + this.maxWaitMs;
    let lateRetries = 0;
    // time spent sleeping for a slot (not the round trips to Redis)
    let waited = 0;
    for (;;) {
      const id = randomUUID();
      const askedAt = Date.now();
      const budget = Math.max(0, deadline - Date.now());
      const [ok, waitText, info] = (await runScript(
        this.redis,
        scripts.reserve,
        [bucket, inflight],
        [id, tokens, limits.rpm, limits.tpm, limits.maxConcurrency, budget, this.leaseMs, this.utilization, IDLE_TTL_MS],
      )) as [number, string, string];
      // the script ran somewhere between asking and hearing back: take the middle as its local time
      const ranAt = (askedAt + Date.now()) / 2;
      const wait = Number(waitText);
      if (ok === 1) {
        const reservation = new RedisReservation(this, key, id, tokens, limits, Number(info));
        if (wait > 0) {
          await sleep(wait);
          waited += wait;
          // a pause that began while we slept covers our slot: give it back and queue again
          const paused = Number((await this.redis.hget(bucket, 'paused_until')) ?? 0);
          if (paused > Number(info)) {
            await reservation.cancel();
            continue;
          }
        }
        // the slot began about ranAt + wait (local clock); far past it, the slot is stale
        const late = Date.now() - (ranAt + wait);
        if (late > this.lateToleranceMs && lateRetries < 3) {
          lateRetries++;
          await reservation.cancel();
          this.onEvent?.({ type: 'late', key, lateMs: Math.round(late) });
          continue;
        }
        reservation.waitedMs = waited;
        this.onEvent?.({ type: 'granted', key, waitedMs: Date.now() - began, slotMs: Number(info) });
        return reservation;
      }
      if (info === 'concurrency' && Date.now() + this.pollMs < deadline) {
        await sleep(this.pollMs);
        waited += this.pollMs;
        continue;
      }
      // come back when the slot is within half the in-process wait: the caller then gets a slot it
      // waits for briefly, and the schedule stays full without it holding a worker slot meanwhile
      const waitMs = info === 'concurrency' ? this.pollMs * 4 : Math.max(this.pollMs, Math.ceil(wait - this.maxWaitMs / 2));
      this.onEvent?.({ type: 'refused', key, waitMs, reason: info });
      throw new RateLimitedError(waitMs, `rate limited (${info}) on ${key.provider}:${key.model}: retry in ${waitMs} ms`);
    }
  }

  async pause(key: RateKey, retryAfterMs: number): Promise<void> {
    const { bucket } = bucketKeys(this.prefix, key);
    const ms = Math.max(0, Math.ceil(retryAfterMs));
    await runScript(this.redis, scripts.pause, [bucket], [ms, IDLE_TTL_MS]);
    this.onEvent?.({ type: 'paused', key, pauseMs: ms });
  }

  async learn(key: RateKey, headers: Record<string, string | undefined>): Promise<void> {
    const l = parseRateLimitHeaders(headers);
    if (l.limitRequests < 0 && l.limitTokens < 0 && l.remainingRequests < 0 && l.remainingTokens < 0) return;
    const { bucket } = bucketKeys(this.prefix, key);
    await runScript(
      this.redis,
      scripts.learn,
      [bucket],
      [l.limitRequests, l.limitTokens, l.remainingRequests, l.remainingTokens, Math.ceil(l.resetRequestsMs), Math.ceil(l.resetTokensMs), IDLE_TTL_MS],
    );
  }

  /** @internal settle or cancel a reservation */
  async settleReservation(
    key: RateKey,
    id: string,
    est: number,
    actual: number,
    limits: { rpm: number; tpm: number },
    refundRequest: boolean,
    startMs: number,
  ) {
    const { bucket, inflight } = bucketKeys(this.prefix, key);
    await runScript(
      this.redis,
      scripts.settle,
      [bucket, inflight],
      [id, est, Math.max(0, Math.ceil(actual)), limits.tpm, this.utilization, refundRequest ? 1 : 0, limits.rpm, startMs],
    );
  }
}

class RedisReservation implements Reservation {
  private done = false;
  waitedMs = 0;
  constructor(
    private readonly gate: RedisRateGate,
    private readonly key: RateKey,
    private readonly id: string,
    private readonly estimated: number,
    private readonly limits: { rpm: number; tpm: number },
    /** the slot's start on the Redis clock */
    private readonly startMs: number,
  ) {}

  async settle(actualTokens: number): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.gate.settleReservation(this.key, this.id, this.estimated, actualTokens, this.limits, false, this.startMs);
  }

  /** The call was never made: return both the request and its tokens. */
  async cancel(): Promise<void> {
    if (this.done) return;
    this.done = true;
    await this.gate.settleReservation(this.key, this.id, this.estimated, 0, this.limits, true, this.startMs);
  }
}
