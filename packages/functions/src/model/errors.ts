import { CellInputError, ConfigError, redact, TransientError } from '@tessera/core';

/** retry-after-ms, then retry-after (seconds or an HTTP date), in ms. */
export function parseRetryAfter(get: (name: string) => string | null | undefined): number | undefined {
  const ms = get('retry-after-ms');
  if (ms && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const ra = get('retry-after');
  if (!ra) return undefined;
  if (Number.isFinite(Number(ra))) return Math.max(0, Number(ra) * 1000);
  const at = Date.parse(ra);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

/** What the classifier needs from any SDK's error. */
export interface ProviderFailure {
  status?: number;
  headers?: (name: string) => string | null | undefined;
  message: string;
  /** connection refused or reset, DNS, TLS, a timeout */
  network?: boolean;
}

/** A 429 that the caller must also report to the rate gate. */
export class ProviderRateLimitError extends TransientError {
  constructor(message: string, retryAfterMs: number | undefined) {
    super(message, retryAfterMs, 'E_PROVIDER_RATE_LIMIT');
    this.name = 'ProviderRateLimitError';
  }
}

/**
 * The queue owns retries, so every failure is sorted here: network, timeouts, 408/409/429/5xx are
 * transient; other 4xx are bad input for this cell (never retried); 401/403/404 are configuration.
 */
export function classify(where: string, f: ProviderFailure, secret?: string): Error {
  const msg = `${where}: ${redact(f.message, { secrets: [secret] })}`;
  const retryAfter = f.headers ? parseRetryAfter(f.headers) : undefined;
  const s = f.status;
  if (s === 429) return new ProviderRateLimitError(msg, retryAfter);
  if (f.network || s === undefined || s === 408 || s === 409 || s >= 500) return new TransientError(msg, retryAfter);
  if (s === 401 || s === 403 || s === 404) return new ConfigError(msg);
  return new CellInputError(msg, { status: s });
}
