import { UnrecoverableError, Worker, type Job, type JobJson } from 'bullmq';

/** Jobs built without their data because it is not JSON, with the reason to fail them with. */
const unreadable = new WeakMap<Job, UnrecoverableError>();

/**
 * Build a job from its stored form with `create`. BullMQ producers store a job's data as JSON; a
 * job written by anything else (a raw HSET, a foreign client) may not be, and then building the job
 * throws, the job is never handed to a processor and it fails only after stalling out its lock
 * again and again, with a stall as its reason. Such a job is built with no data instead, and
 * `unreadableData` gives the error to fail it with at once, naming what was wrong.
 */
export function buildJob(json: JobJson, create: (json: JobJson) => Job): Job {
  try {
    return create(json);
  } catch (e) {
    const reason = dataParseError(json.data);
    if (!reason) throw e; // not its data: a different problem, left as it was
    const job = create({ ...json, data: '{}' });
    unreadable.set(job, new UnrecoverableError(`job ${job.id}: its data is not valid JSON (${reason}); BullMQ producers send job data as JSON`));
    return job;
  }
}

/** The error to fail a job built by `buildJob` with, when its data was not JSON. */
export function unreadableData(job: Job): UnrecoverableError | undefined {
  return unreadable.get(job);
}

function dataParseError(data: string | undefined): string | undefined {
  try {
    JSON.parse(data || '{}');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** A BullMQ Worker that fails a job whose data is not JSON at once, with that reason (see buildJob). */
export class ReadingWorker extends Worker {
  protected override createJob(json: JobJson, jobId: string): Job {
    return buildJob(json, (j) => super.createJob(j, jobId));
  }

  protected override callProcessJob(job: Job, token: string, signal?: AbortSignal): Promise<unknown> {
    const error = unreadableData(job);
    if (error) return Promise.reject(error);
    return super.callProcessJob(job, token, signal);
  }
}
