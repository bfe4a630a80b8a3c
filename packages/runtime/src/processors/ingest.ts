import { UnrecoverableError, type Job } from 'bullmq';
import { TesseraError } from '@tessera/core';
import { parseIngestJob } from '../jobs/payloads';
import { ingestRequestKey } from '../ingest/request-key';
import type { CommitGrouper } from '../ingest/commit-grouper';
import { checkIngestPayload } from '../ingest-limits';
import type { TesseraConfig } from '../config';

/**
 * Apply one ingest payload, committed together with the other ingest jobs this worker holds for
 * the same table (see CommitGrouper). A payload that does not validate, or rows that do not fit
 * the table, fail this job alone (no retries) with the reason recorded on it; nothing else is
 * touched. The request's key (see ingestRequestKey) makes a retried job apply once.
 */
export function runIngest(job: Job, grouper: CommitGrouper, config: TesseraConfig) {
  return applyIngest(job.data, job, grouper, config);
}

/**
 * The same from a job's payload and identity alone: the bulk consumer runs claimed jobs this way,
 * without building a BullMQ Job for each (see BulkConsumerOptions.fast).
 */
export async function applyIngest(data: unknown, identity: Pick<Job, 'id' | 'timestamp' | 'stalledCounter'>, grouper: CommitGrouper, config: TesseraConfig) {
  checkIngestPayload(data, config);
  const parsed = parseIngestJob(data);
  if (!parsed.success) {
    throw new UnrecoverableError(`invalid ingest payload: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  }
  const p = parsed.data;
  const r = await grouper.submit(p.pipeline, p.table, p.op, {
    id: ingestRequestKey(identity, p.requestId),
    // without a requestId the key is the job's own identity, which only a retry of this job repeats
    idNamesPayload: p.requestId === undefined,
    rows: p.rows,
    ...(identity.stalledCounter > 0 ? { afterStall: true } : {}),
  });
  if (!r.ok) {
    if (r.error instanceof TesseraError) throw new UnrecoverableError(`${p.op} into ${p.pipeline}.${p.table} rejected: ${r.error.message}`);
    throw r.error;
  }
  return { version: r.version, count: r.count, duplicate: r.duplicate };
}
