import type { ColumnType, Kind } from '../types/column-type';
import type { Expr } from '../expr/expr';
import type { MediaContext } from '../media/media-store';

export interface IteratorContext {
  media: MediaContext;
  /** where generated media (frames, segments, tiles) of this view is written */
  destination: string;
  signal?: AbortSignal;
  /**
   * Record a warning on the base row's iteration cell: the iteration succeeded (its rows, maybe
   * none, are kept and the cell is done, so `recompute --errors-only` does not retry it), but
   * something the user should see happened, e.g. a scanned PDF with no text layer gave no chunks.
   * Stored as errortype `Warning` with the message; the last call wins.
   */
  warn?(message: string): void;
}

/**
 * An iterator turns one base-row value into zero or more view rows (chunks, frames, segments...).
 * It streams: `run` yields rows one at a time so a long video never sits in memory.
 */
export interface IteratorDef<P = unknown, O extends Record<string, ColumnType> = Record<string, ColumnType>> {
  name: string;
  version: string;
  /** kinds of base column it accepts */
  accepts: readonly Kind[];
  /** check parameters at `apply`; throw an Error whose message names the problem */
  validate(params: P): void;
  /** output columns for these parameters (metadata columns may depend on them) */
  outputs(params: P): O;
  /** queue class that runs it: `cpu` or `media` */
  queue: 'cpu' | 'media';
  /**
   * Base rows one job iterates (default: 1 on the media queue, 32 on cpu). A two-hour video is a
   * job of its own so the fleet shares the work; small documents are cheaper in groups.
   */
  rowsPerJob?: number;
  run(input: string, params: P, ctx: IteratorContext): AsyncIterable<{ [K in keyof O]: O[K]['_value'] }>;
}

/** An iterator applied to a base column: what `p.view(name, base, documentSplitter(docs.doc, {...}))` receives. */
export interface IteratorCall<P = unknown, O extends Record<string, ColumnType> = Record<string, ColumnType>> {
  readonly def: IteratorDef<P, O>;
  readonly input: Expr;
  readonly params: P;
}

/** Base rows per iterate job for an iterator (see `IteratorDef.rowsPerJob`). */
export function rowsPerJobOf(def: Pick<IteratorDef, 'rowsPerJob' | 'queue'>): number {
  return def.rowsPerJob ?? (def.queue === 'media' ? 1 : 32);
}

export function iteratorCall<P, O extends Record<string, ColumnType>>(def: IteratorDef<P, O>, input: Expr, params: P): IteratorCall<P, O> {
  return { def, input, params };
}
