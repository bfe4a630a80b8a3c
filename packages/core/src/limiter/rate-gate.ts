import { TesseraError } from '../errors';

/**
 * The fleet-wide rate limit as a model UDF sees it. Implemented in @tessera/runtime over Redis;
 * core only knows this contract so @tessera/functions can depend on core alone.
 */
export interface RateGate {
  /**
   * Reserve one request and `estimatedTokens` tokens for `key` (provider + model + key hash).
   * Resolves when granted; rejects with a RateLimitedError carrying how long to wait when the
   * caller should give the job back to its queue instead of holding a worker slot.
   */
  acquire(key: RateKey, estimatedTokens: number): Promise<Reservation>;
  /** A 429 or retry-after seen from the provider: every worker backs off until `untilMs`. */
  pause(key: RateKey, retryAfterMs: number): Promise<void>;
  /** Limits learned from `x-ratelimit-*` response headers. */
  learn(key: RateKey, headers: Record<string, string | undefined>): Promise<void>;
}

export interface RateKey {
  provider: string;
  model: string;
  /** a hash of the API key, never the key */
  keyHash?: string;
}

export interface Reservation {
  /** How long the caller waited for this slot in-process (0 when it could go at once). */
  readonly waitedMs?: number;
  /** Settle the reservation against the usage the response reported (or 0 when the call failed). */
  settle(actualTokens: number): Promise<void>;
}

/** Thrown by a RateGate when the caller should wait `waitMs` without spending a retry attempt. */
export class RateLimitedError extends TesseraError {
  constructor(
    readonly waitMs: number,
    message = `rate limited: retry in ${waitMs} ms`,
  ) {
    super('E_RATE_LIMITED', message, { waitMs });
    this.name = 'RateLimitedError';
  }
}
