import { UnrecoverableError } from 'bullmq';
import { TesseraError } from '@tessera/core';

export interface WriteLimits {
  /** largest ingest job payload, in bytes (roughly, as JSON) */
  maxIngestBytes: number;
  /** most rows in one write */
  maxWriteRows: number;
  /** largest row, in bytes (roughly, as JSON) */
  maxRowBytes: number;
}

/**
 * Refuse a write over the limits before any of it is validated or stored, naming the limit and
 * the setting: a 200 MB payload otherwise holds a worker (and its health endpoint) for minutes.
 * Sizes are measured by a walk that stops as soon as a limit is passed.
 */
export function checkWriteLimits(rows: unknown, limits: WriteLimits, what = 'write'): void {
  if (!Array.isArray(rows)) return; // the payload's own validation names this
  if (rows.length > limits.maxWriteRows) {
    throw new TesseraError(
      'E_LIMIT',
      `${what} has ${rows.length} rows, more than ${limits.maxWriteRows} (TESSERA_MAX_WRITE_ROWS); split it into smaller writes`,
    );
  }
  let total = 0;
  for (let i = 0; i < rows.length; i++) {
    const size = sizeOf(rows[i], Math.min(limits.maxRowBytes, limits.maxIngestBytes - total) + 1);
    if (size > limits.maxRowBytes)
      throw new TesseraError('E_LIMIT', `${what}: row ${i + 1} is larger than ${limits.maxRowBytes} bytes (TESSERA_MAX_ROW_BYTES)`);
    total += size;
    if (total > limits.maxIngestBytes)
      throw new TesseraError('E_LIMIT', `${what} is larger than ${limits.maxIngestBytes} bytes (TESSERA_MAX_INGEST_BYTES); split it into smaller writes`);
  }
}

/** An ingest job over the limits fails alone, with no retries and the reason on the job. */
export function checkIngestPayload(data: unknown, limits: WriteLimits): void {
  try {
    checkWriteLimits((data as { rows?: unknown } | null | undefined)?.rows, limits, 'ingest payload');
  } catch (e) {
    throw new UnrecoverableError((e as Error).message);
  }
}

/** Approximate JSON size of a value, giving up (returning more than `budget`) once over `budget`. */
function sizeOf(root: unknown, budget: number): number {
  let bytes = 0;
  const stack: unknown[] = [root];
  while (stack.length && bytes <= budget) {
    const v = stack.pop();
    if (typeof v === 'string') bytes += v.length + 2;
    else if (Array.isArray(v)) {
      bytes += v.length + 2;
      for (const x of v) stack.push(x);
    } else if (v !== null && typeof v === 'object') {
      // for..in rather than Object.entries: no array of pairs per object (this runs per row)
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        bytes += k.length + 4;
        stack.push((v as Record<string, unknown>)[k]);
      }
    } else bytes += 8;
  }
  return bytes;
}
