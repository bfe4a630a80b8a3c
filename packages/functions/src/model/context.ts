import type { CacheMode, RateKey, UdfContext } from '@tessera/core';
import { keyHash } from './secrets';

/**
 * What model UDFs read from their context: core's UdfContext, whose `cache` (the worker's, else the
 * process default from setDefaultResponseCache) and `cacheMode` they honour.
 */
export type ModelUdfContext = UdfContext;

/** Options every model UDF takes besides its model and prompt. */
export interface CacheOption {
  /**
   * `false`: this column never reads nor writes the response cache, so every computation calls the
   * model (sampling where each run should give a new answer, or answers that must not be kept).
   * Default true: an input already answered is not sent again.
   */
  cache?: boolean;
}

/** The cache mode of one call: the column's `cache: false` wins over the job's mode. */
export function cacheModeOf(ctx: UdfContext, opts: CacheOption): CacheMode {
  return opts.cache === false ? 'off' : (ctx.cacheMode ?? 'use');
}

/** How a model UDF reaches its provider, for every provider (OpenAI's adds `provider`). */
export interface ProviderConnection extends CacheOption {
  /** the provider's API, or a compatible server; default the provider's own */
  baseURL?: string;
  /** name of the secret holding the key (never the key) */
  apiKeyEnv?: string;
  /** per-request timeout; default 60 s */
  timeoutMs?: number;
  /** limits for this model, used where TESSERA_RATE_LIMITS sets none */
  limits?: ModelLimits;
}

/** What a text-in, text-out model UDF is asked with. */
export interface PromptOptions {
  model: string;
  /** system message */
  system?: string;
  /** user message template: `{input}` is replaced by the cell's text (else the text follows it) */
  prompt?: string;
  temperature?: number;
}

/** Limits a pipeline declares for a model; the rate gate uses them when the environment sets none. */
export interface ModelLimits {
  rpm?: number;
  tpm?: number;
  maxConcurrency?: number;
}

export type ModelRateKey = RateKey & { limits?: ModelLimits };

/** The rate-limit bucket of a model's calls: provider, model, a hash of the key (never the key), declared limits. */
export function rateKeyOf(provider: string, model: string, secret: string | undefined, limits: ModelLimits | undefined): ModelRateKey {
  return { provider, model, ...(secret ? { keyHash: keyHash(secret) } : {}), ...(limits ? { limits } : {}) };
}

/**
 * Counters model UDFs report through ctx.usage: requests made, tokens the responses reported, 429s
 * received, answers taken from the response cache, and calls that waited in-process for their
 * rate-limit slot. (The runtime adds `limiterRequeues`: jobs sent back to their queue to wait.)
 */
export type UsageCounter = 'calls' | 'tokens' | '429s' | 'cacheHits' | 'limiterWaits';

export function report(ctx: UdfContext, counter: UsageCounter, n: number): void {
  if (n > 0) ctx.usage?.(counter, n);
}
