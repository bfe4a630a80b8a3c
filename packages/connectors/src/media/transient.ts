import { TransientError, TesseraError } from '@tessera/core';

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_HEADERS_TIMEOUT',
]);

const NETWORK_MESSAGE = /\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)\b|socket hang up/;

/** Network failures and 429/5xx answers are worth retrying; the queue owns the retry. */
export function isTransientNetworkError(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; cause?: unknown; $metadata?: { httpStatusCode?: number }; statusCode?: unknown; name?: unknown };
  if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return true;
  const status = e.$metadata?.httpStatusCode ?? (typeof e.statusCode === 'number' ? e.statusCode : typeof e.code === 'number' ? e.code : undefined);
  if (typeof status === 'number' && (status === 429 || status >= 500)) return true;
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout') return true;
  // some SDKs wrap socket errors and keep only the message (the AWS SDK does when the error crossed a realm)
  if (NETWORK_MESSAGE.test((err as Error).message ?? '')) return true;
  const cause = e.cause ?? (e as { $cause?: unknown }).$cause;
  return cause !== undefined && cause !== err && isTransientNetworkError(cause);
}

/** Rethrow as a TransientError when retrying could help; Tessera's own errors pass through unchanged. */
export function asStoreError(err: unknown, what: string): Error {
  if (err instanceof TesseraError) return err;
  if (isTransientNetworkError(err)) return new TransientError(`${what}: ${(err as Error).message || String(err)}`);
  return err instanceof Error ? err : new Error(`${what}: ${String(err)}`);
}
