/** Queues by resource class, so each pool of workers can be sized and placed on its own. */
export const INGEST_QUEUE = 'ingest';
export const CONTROL_QUEUE = 'control';
/** scheduled source runs (one job per tick, see sources/) */
export const SOURCES_QUEUE = 'sources';
export const BASE_QUEUES = [INGEST_QUEUE, CONTROL_QUEUE, 'cpu', 'media', SOURCES_QUEUE] as const;

/** BullMQ queue name for a stage's queue class (`model:openai:gpt-4o` -> `model-openai-gpt-4o`). */
export function queueName(queueClass: string): string {
  return queueClass.replace(/[^A-Za-z0-9_.-]+/g, '-');
}
