import { UnrecoverableError, type Job } from 'bullmq';
import { TesseraError } from '@tessera/core';
import { IngestJob } from '../jobs/payloads';
import type { Engine } from '../engine';

/**
 * Apply one ingest payload. A payload that does not validate, or rows that do not fit the table,
 * fail this job alone (no retries) with the reason recorded on it; nothing else is touched.
 * The job id is the write's idempotency key, so a retried job applies once.
 */
export async function runIngest(job: Job, engine: Engine) {
  const parsed = IngestJob.safeParse(job.data);
  if (!parsed.success) {
    throw new UnrecoverableError(`invalid ingest payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const p = parsed.data;
  const requestId = p.requestId ?? `ingest:${job.id}`;
  try {
    const r =
      p.op === 'insert'
        ? await engine.insert(p.pipeline, p.table, p.rows, { requestId })
        : p.op === 'update'
          ? await engine.update(p.pipeline, p.table, p.rows, { requestId })
          : p.op === 'upsert'
            ? await engine.upsert(p.pipeline, p.table, p.rows, { requestId })
            : await engine.delete(p.pipeline, p.table, p.rows, { requestId });
    if (r.duplicate && p.op !== 'delete') {
      // the write committed on an earlier attempt; make sure its DAG exists (enqueue is idempotent by job id)
      await engine.enqueue(p.pipeline, p.table, r.version, { vMin: r.version });
    }
    return { version: r.version, count: r.count, duplicate: r.duplicate };
  } catch (e) {
    if (e instanceof TesseraError) throw new UnrecoverableError(`${p.op} into ${p.pipeline}.${p.table} rejected: ${e.message}`);
    throw e;
  }
}
