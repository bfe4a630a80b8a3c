import { z } from 'zod';

const name = z.string().min(1).max(64);

/** A stage of one batch: compute `columns` for the rows `lo..hi` (of version `vMin` when set). */
export const StageJob = z.object({
  kind: z.literal('stage'),
  pipeline: name,
  table: name,
  version: z.number().int().positive(),
  columns: z.array(name).min(1),
  lo: z.number().int(),
  hi: z.number().int(),
  vMin: z.number().int().positive().optional(),
  /** model calls ignore answers in the response cache (`tessera recompute --fresh`) */
  fresh: z.boolean().optional(),
});
export type StageJob = z.infer<typeof StageJob>;

/**
 * Iterate base rows `lo..hi` (of version `vMin` when set) into the view named by `column` (the
 * base's iteration column): write the view rows, then start the view's own job DAG.
 */
export const IterateJob = z.object({
  kind: z.literal('iterate'),
  pipeline: name,
  table: name,
  version: z.number().int().positive(),
  column: name,
  lo: z.number().int(),
  hi: z.number().int(),
  vMin: z.number().int().positive().optional(),
});
export type IterateJob = z.infer<typeof IterateJob>;

/** View work a base version made (see the store's DerivedVersion), run after the base's own work. */
export interface DerivedWork {
  table: string;
  version: number;
  vMin?: number;
  columns?: string[];
  then: DerivedWork[];
}
export const DerivedWork: z.ZodType<DerivedWork> = z.lazy(() =>
  z.object({
    table: name,
    version: z.number().int().positive(),
    vMin: z.number().int().positive().optional(),
    columns: z.array(name).optional(),
    then: z.array(DerivedWork),
  }),
);

/** Runs when every batch of a version is done: the place for exports and follow-up work. */
export const FinalizeJob = z.object({
  kind: z.literal('finalize'),
  pipeline: name,
  table: name,
  version: z.number().int().positive(),
  /** re-ship every live row (`tessera export --full`) rather than what the version changed */
  full: z.boolean().optional(),
  /**
   * ship the live rows in these rowid ranges rather than what the version changed: a reconcile
   * computed their pending cells, so rows earlier ships held back are complete now
   */
  rows: z
    .array(z.object({ lo: z.number().int(), hi: z.number().int() }))
    .max(100_000)
    .optional(),
  /** only these exports (by sink name); all of the table's when absent */
  sinks: z.array(z.string().min(1).max(200)).optional(),
  /** view versions to compute once this version's work is done */
  derived: z.array(DerivedWork).optional(),
  /** no cell of the version's rows was left for workers when its work was enqueued (see Engine.waitVersion) */
  nothingLeft: z.boolean().optional(),
});
export type FinalizeJob = z.infer<typeof FinalizeJob>;

/**
 * The documented ingest payload: any BullMQ producer (Node, Python...) may add this to the
 * `ingest` queue. `requestId` makes a retried or re-sent payload apply once.
 */
export const IngestJob = z.object({
  pipeline: name,
  table: name,
  op: z.enum(['insert', 'update', 'upsert', 'delete']).default('insert'),
  rows: z.array(z.record(z.string(), z.unknown())).min(1).max(100_000),
  requestId: z.string().min(1).max(200).optional(),
});
export type IngestJob = z.infer<typeof IngestJob>;

const INGEST_OPS: ReadonlySet<unknown> = new Set(IngestJob.shape.op.unwrap().options);
const isName = (v: unknown) => typeof v === 'string' && v.length >= 1 && v.length <= 64;
const isPlainObject = (v: unknown) => v !== null && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype;

/**
 * An ingest payload checked against IngestJob. A stream of one-row jobs pays the schema's parse on
 * every job (more than the rest of handling one), so the well-formed payload is recognised by
 * plain checks of exactly the schema's rules; anything else goes through the schema, which names
 * what is wrong.
 */
export function parseIngestJob(data: unknown): ReturnType<typeof IngestJob.safeParse> {
  if (isPlainObject(data)) {
    const d = data as Record<string, unknown>;
    const rows = d.rows;
    if (
      isName(d.pipeline) &&
      isName(d.table) &&
      (d.op === undefined || INGEST_OPS.has(d.op)) &&
      (d.requestId === undefined || (typeof d.requestId === 'string' && d.requestId.length >= 1 && d.requestId.length <= 200)) &&
      Array.isArray(rows) &&
      rows.length >= 1 &&
      rows.length <= 100_000 &&
      rows.every(isPlainObject)
    ) {
      const job = { pipeline: d.pipeline, table: d.table, op: d.op ?? 'insert', rows, ...(d.requestId === undefined ? {} : { requestId: d.requestId }) };
      return { success: true, data: job as IngestJob };
    }
  }
  return IngestJob.safeParse(data);
}
