import { ColumnType, isMediaKind, type Kind } from '../types/column-type';
import { isGeneratedMedia, storeGeneratedMedia, type GeneratedMedia } from '../media/generated-media';
import { Expr, type ExprNode } from '../expr/expr';
import { ConfigError, isTransient } from '../errors';
import type { MediaContext } from '../media/media-store';
import type { RateGate } from '../limiter/rate-gate';
import type { CacheMode, ResponseCache } from './response-cache';

/** What a UDF sees besides its arguments. */
export interface UdfContext {
  /** read input media and write generated media */
  media: MediaContext;
  /** the column being computed (for messages and media keys) */
  column: { table: string; name: string; destination?: string };
  signal?: AbortSignal;
  /** fleet-wide rate limits for model calls */
  rateGate?: RateGate;
  /** counters a UDF reports (calls, tokens, 429s) for status and metrics */
  usage?: (counter: string, amount: number) => void;
  /** answered model calls, shared by the fleet */
  cache?: ResponseCache;
  /** one finished model request (latency, tokens, limiter wait), for the worker's metrics */
  observeModelCall?: (call: ModelCallObservation) => void;
  /** how model calls use `cache`; default `use` */
  cacheMode?: CacheMode;
}

/** What a model UDF reports per provider request: the worker turns it into Prometheus metrics. */
export interface ModelCallObservation {
  provider: string;
  model: string;
  /** request time, without the wait for the rate limiter */
  ms: number;
  /** how long the call waited in its job for a rate-limit slot */
  waitedMs: number;
  outcome: 'ok' | '429' | 'error';
  tokens: number;
}

type ValueOf<C> = C extends ColumnType<Kind, infer T> ? T : never;
type KindOf<C> = C extends ColumnType<infer K, unknown> ? K : never;
/** int may be passed where float is wanted; everything else must match exactly. */
type AcceptedKind<K> = K extends 'float' ? 'float' | 'int' : K;

/** A media-typed UDF may also return the media itself (bytes or a local file), written to the column's destination. */
export type ResultOf<R> = KindOf<R> extends 'image' | 'video' | 'audio' | 'document' ? ValueOf<R> | GeneratedMedia : ValueOf<R>;

/**
 * Parameters of no fixed arity are those of the registry type `Udf` (every UDF the runtime holds,
 * by `name@version`); its arguments are `any` so that each concrete UDF, whose functions take
 * narrower arguments, is assignable to it without a cast.
 */
type Wide<P extends readonly ColumnType[]> = number extends P['length'] ? true : false;
export type ArgValues<P extends readonly ColumnType[]> = Wide<P> extends true ? any : { [I in keyof P]: ValueOf<P[I]> };
export type ArgExprs<P extends readonly ColumnType[]> = Wide<P> extends true ? any : { [I in keyof P]: Expr<AcceptedKind<KindOf<P[I]>>, any> | ValueOf<P[I]> };

export interface UdfSpec<P extends readonly ColumnType[], R extends ColumnType> {
  /** stable name; with `version`, recorded in the catalog for every column that uses it */
  name: string;
  /** bump when the function would compute a different answer */
  version: string;
  params: P;
  returns: R;
  /**
   * how long one call (a batch call: one batch) may take before its cells fail with UdfTimeout;
   * defaults to TESSERA_UDF_TIMEOUT_MS (10 min), 0 for none (a call that may rightly run longer, a
   * local model over a long file)
   */
  timeoutMs?: number;
  /** queue class that runs it: `cpu` (default), `media`, or `model:<provider>:<model>` */
  queue?: string;
  /** one row at a time */
  fn?: (args: ArgValues<P>, ctx: UdfContext) => Promise<ResultOf<R>> | ResultOf<R>;
  /** many rows per call; must return one result (or an Error) per input row, in order */
  batch?: {
    maxSize: number;
    fn: (rows: ArgValues<P>[], ctx: UdfContext) => Promise<Array<ResultOf<R> | Error>>;
  };
}

export interface Udf<P extends readonly ColumnType[] = readonly ColumnType[], R extends ColumnType = ColumnType> {
  (...args: ArgExprs<P>): Expr<KindOf<R>, ValueOf<R>>;
  readonly spec: UdfSpec<P, R>;
  readonly id: string;
}

/**
 * Define a user-defined function. Calling it with column expressions builds an expression;
 * TypeScript rejects an argument of the wrong kind (a video where a string is wanted).
 */
export function defineUdf<const P extends readonly ColumnType[], R extends ColumnType>(userSpec: UdfSpec<P, R>): Udf<P, R> {
  if (!userSpec.fn && !userSpec.batch) throw new Error(`udf ${userSpec.name}: give fn or batch`);
  const spec = isMediaKind(userSpec.returns.spec.kind) ? withMediaWrites(userSpec) : userSpec;
  const id = `${spec.name}@${spec.version}`;
  const call = (...args: unknown[]) => {
    const udfs = new Map<string, Udf>();
    const nodes: ExprNode[] = args.map((a, i) => {
      // compute() returns the table: a JS caller may hand it on where the new column was meant
      if (a && typeof a === 'object' && '~pipeline' in a)
        throw new ConfigError(
          `${spec.name}: argument ${i + 1} is the table ${(a as { name?: string }).name}, not a column; pass one of its columns (table.<column>)`,
        );
      if (a instanceof Expr) {
        for (const [k, v] of a.udfs) udfs.set(k, v);
        return a.node;
      }
      return { op: 'literal', value: a } as ExprNode;
    });
    udfs.set(id, udf);
    return new Expr({ op: 'call', udf: spec.name, version: spec.version, args: nodes }, spec.returns as unknown as ColumnType<KindOf<R>, ValueOf<R>>, udfs);
  };
  const udf = Object.assign(call, { spec, id }) as unknown as Udf<P, R>;
  return udf;
}

/**
 * A media-typed UDF's results that are media (bytes, a local file) are written to the column's
 * destination, and the cell gets the object's URL; references pass through. Failures to write
 * become that row's error (or a job-level TransientError when the store is unreachable).
 */
function withMediaWrites<P extends readonly ColumnType[], R extends ColumnType>(spec: UdfSpec<P, R>): UdfSpec<P, R> {
  const what = `${spec.name} result`;
  const store = (v: unknown, ctx: UdfContext): Promise<unknown> | unknown =>
    isGeneratedMedia(v) ? storeGeneratedMedia(ctx.media, ctx.column.destination, v, `${what} for ${ctx.column.table}.${ctx.column.name}`) : v;
  const fn = spec.fn;
  const batch = spec.batch;
  return {
    ...spec,
    ...(fn ? { fn: async (args: ArgValues<P>, ctx: UdfContext) => (await store(await fn(args, ctx), ctx)) as ResultOf<R> } : {}),
    ...(batch
      ? {
          batch: {
            maxSize: batch.maxSize,
            fn: async (rows: ArgValues<P>[], ctx: UdfContext) => {
              const results = await batch.fn(rows, ctx);
              if (!Array.isArray(results)) return results;
              return Promise.all(
                results.map(async (r) => {
                  if (r instanceof Error) return r;
                  try {
                    return (await store(r, ctx)) as ResultOf<R>;
                  } catch (e) {
                    if (isTransient(e)) throw e;
                    return e instanceof Error ? e : new Error(String(e));
                  }
                }),
              );
            },
          },
        }
      : {}),
  };
}
