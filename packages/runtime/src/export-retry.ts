import { DelayedError, type Job } from 'bullmq';

export interface ExportRetryPolicy {
  /** first wait; doubles on each try (ms) */
  baseMs: number;
  /** longest wait between tries (ms) */
  maxMs: number;
  /** after failing this long, the job fails as any other would (its attempts decide) */
  giveUpAfterMs: number;
}

/** What a finalize job records about its export tries, beside its payload. */
interface RetryState {
  exportRetries?: number;
  exportFailingSince?: number;
}

/**
 * An export whose target is down (a TransientError) waits and tries again, for as long as the
 * policy allows, without spending the job's attempts: a customer database down for an hour must
 * not turn into a lost export after BullMQ's few attempts. The job goes back to the delayed set
 * with a capped exponential wait; its payload carries the count, so the wait grows across workers.
 * Returns false when the policy's time is up (the caller rethrows, and attempts apply).
 */
export async function delayExport(job: Job, token: string | undefined, policy: ExportRetryPolicy, now = Date.now()): Promise<boolean> {
  const state = job.data as RetryState;
  const since = state.exportFailingSince ?? now;
  if (now - since >= policy.giveUpAfterMs || !token) return false;
  const tries = (state.exportRetries ?? 0) + 1;
  const wait = Math.min(policy.maxMs, policy.baseMs * 2 ** (tries - 1));
  await job.updateData({ ...job.data, exportRetries: tries, exportFailingSince: since });
  await job.moveToDelayed(now + wait, token);
  return true;
}

/** Thrown after delayExport moved the job: tells the worker the job is not done and not failed. */
export const exportDelayed = (): Error => new DelayedError();
