import { stableHash } from './cache';

/**
 * A model UDF's name carries its model and a hash of every option that changes the answer, so two
 * columns with different prompts are two functions in the catalog (and a worker with other code
 * refuses the job). Transport options (base URL, key, timeout) are not part of it.
 */
export function modelUdfName(base: string, model: string, identity: Record<string, unknown>): string {
  return `${base}:${model}:${stableHash(identity, 8)}`;
}

/** The cache key of one call: the function's identity plus the content of its inputs. */
export function callKey(udfName: string, input: unknown): string {
  return `${udfName}:${stableHash(input)}`;
}

/** Reuse one UDF object per identity (the pipeline's UDF map is keyed by name@version). */
export function memo<T>(cache: Map<string, T>, name: string, make: () => T): T {
  let v = cache.get(name);
  if (!v) {
    v = make();
    cache.set(name, v);
  }
  return v;
}

/**
 * Transport and packing options (base URL, key name, timeout, limits, request sizes, cache use) are
 * not identity, but a UDF object is built per set of options so its closure uses them all. A zod
 * `schema` is identity already (hashed into the name as JSON schema) and is left out here.
 */
export function transportKey(name: string, opts: object): string {
  const plain = Object.fromEntries(Object.entries(opts).filter(([k, v]) => k !== 'schema' && typeof v !== 'function'));
  return `${name}\0${stableHash(plain, 12)}`;
}
