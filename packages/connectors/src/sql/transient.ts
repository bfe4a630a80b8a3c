import { TesseraError, TransientError } from '@tessera/core';
import { isTransientNetworkError } from '../media/transient';

/** Postgres SQLSTATEs worth retrying: connection exceptions, shutdown, too many connections, conflicts. */
const PG_TRANSIENT = /^(08...|57P0[1-3]|53300|53400|40001|40P01)$/;
/** MySQL/MariaDB error codes worth retrying (by mysql2's names). */
const MY_TRANSIENT = new Set([
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  'ER_NORMAL_SHUTDOWN',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_QUERY_INTERRUPTED',
]);

/** A connection failure or a retryable conflict becomes a TransientError, so the export job retries with backoff. */
export function asSqlError(err: unknown, target: string): Error {
  if (err instanceof TesseraError) return err;
  const e = err as { code?: unknown; message?: string; errors?: unknown[] };
  const code = typeof e?.code === 'string' ? e.code : '';
  const nested = Array.isArray(e?.errors) && e.errors.some((x) => isTransientNetworkError(x)); // AggregateError from dual-stack connects
  const connectionEnded = /Connection terminated|connection is closed|Client has encountered a connection error/i.test(e?.message ?? '');
  if (PG_TRANSIENT.test(code) || MY_TRANSIENT.has(code) || nested || connectionEnded || isTransientNetworkError(err)) {
    return new TransientError(`${target}: ${e?.message || code || String(err)}`);
  }
  return err instanceof Error ? err : new Error(`${target}: ${String(err)}`);
}
