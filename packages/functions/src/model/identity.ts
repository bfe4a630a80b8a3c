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

/** Transport options are not identity, but a UDF object is built per transport so its closure uses them. */
export function transportKey(name: string, opts: { baseURL?: string; apiKeyEnv?: string; provider?: string; timeoutMs?: number; limits?: unknown }): string {
  return `${name}\0${stableHash({ b: opts.baseURL, k: opts.apiKeyEnv, p: opts.provider, t: opts.timeoutMs, l: opts.limits }, 12)}`;
}
