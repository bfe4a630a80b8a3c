import type { Job } from 'bullmq';

/**
 * The idempotency key of an ingest job: the producer's `requestId`, else the job's id together with
 * its creation time. A bare job id is not enough: BullMQ numbers jobs from a counter in Redis,
 * which starts again at 1 after Redis loses its data (a flush, a failover to a replica that had
 * not caught up), and new jobs would then be taken for ones already applied and silently dropped.
 * The creation time, kept with the job through retries and stalls, tells them apart.
 */
export function ingestRequestKey(job: Pick<Job, 'id' | 'timestamp'>, requestId: string | undefined): string {
  return requestId ?? `job:${job.id}@${job.timestamp}`;
}
