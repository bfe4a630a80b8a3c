import { z } from 'zod';

export { SOURCES_QUEUE } from '../jobs/queues';

/** A tick of a source's schedule (the job a BullMQ job scheduler adds). */
export const SourceJob = z.object({
  kind: z.literal('source'),
  pipeline: z.string().min(1).max(64),
  source: z.string().min(1).max(64),
});
export type SourceJob = z.infer<typeof SourceJob>;

/** One job scheduler per source, named after it. */
export const schedulerId = (pipeline: string, source: string) => `source:${pipeline}:${source}`;
