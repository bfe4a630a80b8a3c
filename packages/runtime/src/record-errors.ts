import { isTransient } from '@tessera/core';

/**
 * Errors that mean Tessera's own Postgres is restarting or out of reach (not that the job is
 * wrong): admin shutdown, crash shutdown, cannot connect now, connection failures, a connection
 * closed under a statement. Jobs hitting them wait for the database rather than spending attempts.
 */
const CODES = new Set(['57P01', '57P02', '57P03', '08000', '08001', '08003', '08004', '08006', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']);
const MESSAGES =
  /Connection terminated|terminating connection|the database system is (starting up|shutting down)|timeout exceeded when trying to connect|Client has encountered a connection error/i;

export function isRecordUnavailable(e: unknown): boolean {
  const err = e as { code?: unknown; message?: unknown; name?: string } | null;
  if (!err || isTransient(err)) return false; // an export target's trouble has its own policy
  return (typeof err.code === 'string' && CODES.has(err.code)) || (typeof err.message === 'string' && MESSAGES.test(err.message));
}
