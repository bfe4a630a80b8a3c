import type { RateKey, UdfContext } from '@tessera/core';
import type { ResponseCache } from './cache';

/**
 * What model UDFs read from their context beyond core's UdfContext. A worker may pass these extra
 * fields; when absent, the process defaults apply (setDefaultResponseCache).
 */
export interface ModelUdfContext extends UdfContext {
  /** response cache for this call; falls back to the process default */
  cache?: ResponseCache;
  /** 'refresh': do not read the cache (a fresh call), still write the answer */
  cacheMode?: 'use' | 'refresh' | 'off';
}

/** Limits a pipeline declares for a model; the rate gate uses them when the environment sets none. */
export interface ModelLimits {
  rpm?: number;
  tpm?: number;
  maxConcurrency?: number;
}

export type ModelRateKey = RateKey & { limits?: ModelLimits };

/**
 * Counters model UDFs report through ctx.usage: requests made, tokens the responses reported, 429s
 * received, answers taken from the response cache, calls that waited in-process for a rate-limit
 * slot, and calls the limiter refused (their job went back to its queue to wait there).
 */
export type UsageCounter = 'calls' | 'tokens' | '429s' | 'cacheHits' | 'limiterWaits' | 'limiterRequeues';

export function report(ctx: UdfContext, counter: UsageCounter, n: number): void {
  if (n > 0) ctx.usage?.(counter, n);
}
