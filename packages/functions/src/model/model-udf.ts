import { CellInputError, defineUdf, type ColumnType, type Udf, type UdfSpec } from '@tessera/core';
import { memo, modelUdfName, transportKey } from './identity';

/** What one model UDF says: only what differs between providers and calls. */
export interface ModelUdfDef<P extends readonly ColumnType[], R extends ColumnType> {
  /** `openai.chat`, `anthropic.messages`...: the first part of the UDF's name */
  base: string;
  model: string;
  /** the options that change the answer, hashed into the name (see modelUdfName) */
  identity: Record<string, unknown>;
  /** every option, transport and packing too: one UDF object per set (see transportKey) */
  opts: object;
  queue: string;
  params: P;
  returns: R;
  /** the per-row `fn` or the `batch` call, given the UDF's name (cache keys are made from it) */
  build(name: string): Pick<UdfSpec<P, R>, 'fn' | 'batch'>;
}

/** One UDF object per name and options, for every provider (a name starts with its provider). */
const udfs = new Map<string, Udf>();

/**
 * The scaffold every model UDF shares: the name carries the model and a hash of its identity, the
 * version stays 1 (an answer-changing option changes the name instead), the queue is the model's,
 * and the same options give the same UDF object (the pipeline's UDF map is keyed by name@version).
 */
export function defineModelUdf<const P extends readonly ColumnType[], R extends ColumnType>(def: ModelUdfDef<P, R>): Udf<P, R> {
  const name = modelUdfName(def.base, def.model, def.identity);
  return memo(udfs, transportKey(name, def.opts), () =>
    defineUdf({ name, version: '1', params: def.params, returns: def.returns, queue: def.queue, ...def.build(name) }),
  ) as Udf<P, R>; // the cache holds every model's UDFs; this key's is the one defined here
}

/** The text a model is asked about: a missing or blank one is this cell's error, never a request. */
export function requireText(value: unknown, where: string, what = 'input text'): string {
  if (typeof value !== 'string' || !value.trim()) throw new CellInputError(`${where}: empty ${what}`);
  return value;
}
