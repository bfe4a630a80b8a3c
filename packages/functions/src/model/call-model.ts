import { TesseraError, TransientError, type Reservation } from '@tessera/core';
import { classify, ProviderRateLimitError, type ProviderFailure } from './errors';
import { cacheModeOf, report, type CacheOption, type ModelRateKey, type ModelUdfContext } from './context';
import { getDefaultResponseCache } from './cache';
import { fetchReady } from './warm';

/** What one provider request gave back. */
export interface CallOutcome<T> {
  value: T;
  /** tokens the response reports (input + output); 0 when the provider reports none */
  tokens: number;
  headers?: Record<string, string | undefined>;
}

export interface ModelCall<T> {
  ctx: ModelUdfContext;
  rateKey: ModelRateKey;
  /** reserved up front: prompt tokens counted offline + max output tokens */
  estimatedTokens: number;
  /** names the call in error messages, e.g. `openai.chat gpt-4o-mini` */
  where: string;
  /** the API key, so error text can be scrubbed of it */
  secret?: string;
  invoke(signal?: AbortSignal): Promise<CallOutcome<T>>;
  /** reads an SDK's error into the shape the classifier sorts */
  toFailure(err: unknown): ProviderFailure;
}

/** How long the fleet backs off on a 429 that carries no retry-after. */
const DEFAULT_429_PAUSE_MS = 1000;

/**
 * One provider request under the fleet's rate gate: reserve, call, settle against reported usage,
 * learn from the headers, and sort failures into transient / cell input / configuration errors.
 * A RateLimitedError from the gate passes through untouched (the job goes back to its queue).
 */
export async function callModel<T>(c: ModelCall<T>): Promise<T> {
  const gate = c.ctx.rateGate;
  await fetchReady();
  let reservation: Reservation | undefined;
  try {
    reservation = gate ? await gate.acquire(c.rateKey, c.estimatedTokens) : undefined;
  } catch (err) {
    // waiting is the queue's business; a gate that cannot answer (Redis down) is a transient failure
    if (err instanceof TesseraError) throw err;
    throw new TransientError(`${c.where}: rate gate unavailable: ${err instanceof Error ? err.message : String(err)}`);
  }
  if ((reservation?.waitedMs ?? 0) > 0) report(c.ctx, 'limiterWaits', 1);
  report(c.ctx, 'calls', 1);
  let out: CallOutcome<T>;
  const started = performance.now();
  const observe = (outcome: 'ok' | '429' | 'error', tokens: number) =>
    c.ctx.observeModelCall?.({
      provider: c.rateKey.provider,
      model: c.rateKey.model,
      ms: performance.now() - started,
      waitedMs: reservation?.waitedMs ?? 0,
      outcome,
      tokens,
    });
  try {
    out = await c.invoke(c.ctx.signal);
  } catch (err) {
    await reservation?.settle(0).catch(() => undefined);
    if (err instanceof TesseraError) throw err;
    const failure = c.toFailure(err);
    const e = classify(c.where, failure, c.secret);
    observe(e instanceof ProviderRateLimitError ? '429' : 'error', 0);
    if (e instanceof ProviderRateLimitError) {
      report(c.ctx, '429s', 1);
      await gate?.pause(c.rateKey, e.retryAfterMs ?? DEFAULT_429_PAUSE_MS).catch(() => undefined);
    }
    throw e;
  }
  // the fleet's limiter learns what the call used without holding up its answer: a job's cells wait
  // for its slowest call, and two more Redis round trips on each would lengthen every job. Both go
  // out on the gate's one connection, so Redis still applies them in this order.
  void reservation?.settle(out.tokens).catch(() => undefined);
  if (gate && out.headers) void gate.learn(c.rateKey, out.headers).catch(() => undefined);
  report(c.ctx, 'tokens', out.tokens);
  observe('ok', out.tokens);
  return out.value;
}

/**
 * Answer from the response cache when this exact call was answered before; otherwise compute and
 * keep the answer. A cache that fails is treated as a miss: it never fails the cell.
 */
export async function withCache<T>(ctx: ModelUdfContext, opts: CacheOption, key: string, compute: () => Promise<T>): Promise<T> {
  const cache = ctx.cache ?? getDefaultResponseCache();
  const mode = cacheModeOf(ctx, opts);
  if (!cache || mode === 'off') return compute();
  if (mode === 'use') {
    const hit = await cache.get(key).catch(() => undefined);
    if (hit !== undefined) {
      report(ctx, 'cacheHits', 1);
      return hit as T;
    }
  }
  const value = await compute();
  await cache.set(key, value).catch(() => undefined);
  return value;
}

export function headersToRecord(h: { forEach(cb: (value: string, key: string) => void): void } | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  h?.forEach((v, k) => {
    out[k.toLowerCase()] = v;
  });
  return out;
}
