import { readJsonPath, type ExprNode } from './expr';
import type { Udf, UdfContext } from '../udf/udf';
import { validateValue } from '../types/validate-value';
import { categoryOf, codeOf, UdfVersionError } from '../errors';
import { udfTimeout, withDeadline } from '../udf/call-deadline';

/** One cell's outcome: a value, an error, or pending (an input has not been computed yet). */
export type Outcome = { value: unknown } | { error: { type: string; message: string } } | { pending: true };

export interface EvalEnv<R> {
  udfs: ReadonlyMap<string, Udf>;
  ctx: UdfContext;
  /** read a column of a row, with its state (a failed or pending computed input) */
  read(row: R, column: string): Outcome;
  /** in-flight calls of a per-row UDF */
  concurrency?: number;
  /**
   * Where a job-level error is kept instead of rejecting. When given, calls already in flight
   * finish, cells not attempted come back `pending`, and no further call is made by any evaluate
   * sharing this holder; the caller writes what was computed, then throws `stop.error`. Without it,
   * evaluate rejects with the error once the calls in flight have finished.
   */
  stop?: JobStop;
  /**
   * The job's last attempt: a row whose own media could not be read (E_MEDIA_UNREACHABLE) gets that
   * as its cell's error instead of stopping the job, so no input leaves its cell pending once the
   * attempts are spent. Other transient errors (a model's 5xx, a rate limit) still stop the job.
   */
  lastAttempt?: boolean;
  /** how long a UDF call may take before its cell fails with UdfTimeout, unless the UDF sets its own `timeoutMs` (0 or absent: no deadline) */
  udfTimeoutMs?: number;
}

/** A job-level stop: the first job-level error seen while evaluating (see EvalEnv.stop). */
export interface JobStop {
  error?: Error;
}

const PENDING: Outcome = { pending: true };

/**
 * Errors that fail the whole job rather than one cell: the job is retried (or re-queued by the
 * rate limiter) and recomputes only the cells still pending. Sorted by code (see categoryOf), so
 * that subclasses, copies of the error classes from other module instances, and errors that came
 * back through the queue as plain objects count.
 */
export const isJobLevelError = (e: unknown): e is Error => {
  const category = e instanceof Error ? categoryOf(e) : undefined;
  return category === 'transient' || category === 'skew';
};

export function cellError(e: unknown): Outcome {
  if (isJobLevelError(e)) throw e;
  const err = e instanceof Error ? e : new Error(String(e));
  return { error: { type: err.name || 'Error', message: err.message || String(e) } };
}

/** Evaluate an expression over a batch of rows, calling batched UDFs once per chunk of rows. */
export async function evaluate<R>(node: ExprNode, rows: readonly R[], env: EvalEnv<R>): Promise<Outcome[]> {
  if (env.stop) return evaluateNode(node, rows, env as StoppableEnv<R>);
  const stop: JobStop = {};
  const out = await evaluateNode(node, rows, { ...env, stop });
  if (stop.error) throw stop.error;
  return out;
}

type StoppableEnv<R> = EvalEnv<R> & { stop: JobStop };

/** Record a job-level error (the first one wins); the cell it hit stays pending. */
function stopWith(env: StoppableEnv<unknown>, e: Error): Outcome {
  if (env.lastAttempt && codeOf(e) === 'E_MEDIA_UNREACHABLE')
    return { error: { type: e.name || 'Error', message: `failed on the job's last attempt: ${e.message}` } };
  env.stop.error ??= e;
  return PENDING;
}

async function evaluateNode<R>(node: ExprNode, rows: readonly R[], env: StoppableEnv<R>): Promise<Outcome[]> {
  switch (node.op) {
    case 'column':
      return rows.map((r) => env.read(r, node.column));
    case 'literal':
      return rows.map(() => ({ value: node.value }));
    case 'path': {
      const base = await evaluateNode(node.base, rows, env);
      return base.map((o) => ('value' in o ? { value: readJsonPath(o.value, node.path) } : o));
    }
    case 'call':
      return evaluateCall(node, rows, env);
  }
}

async function evaluateCall<R>(node: Extract<ExprNode, { op: 'call' }>, rows: readonly R[], env: StoppableEnv<R>): Promise<Outcome[]> {
  const id = `${node.udf}@${node.version}`;
  const udf = env.udfs.get(id);
  if (!udf) {
    const err = new UdfVersionError(id);
    return rows.map(() => stopWith(env, err));
  }
  const args = await Promise.all(node.args.map((a) => evaluateNode(a, rows, env)));
  const params = udf.spec.params;
  const deadlineMs = udf.spec.timeoutMs ?? env.udfTimeoutMs ?? 0;
  const out: Outcome[] = new Array(rows.length);
  const todo: Array<{ i: number; values: unknown[] }> = [];
  // plain loops: this runs for every cell of every batch
  nextRow: for (let i = 0; i < rows.length; i++) {
    let failed: { error: { type: string; message: string } } | undefined;
    const values: unknown[] = new Array(args.length);
    let nullArg = false;
    for (let k = 0; k < args.length; k++) {
      const c = args[k]![i]!;
      if ('pending' in c) {
        out[i] = c;
        continue nextRow;
      }
      if ('error' in c) failed ??= c;
      else {
        values[k] = c.value;
        // a null where the UDF does not take null yields null without a call, as in SQL
        if ((c.value === null || c.value === undefined) && !params[k]!.spec.nullable) nullArg = true;
      }
    }
    if (failed) out[i] = { error: { type: 'UpstreamError', message: `an input of ${node.udf} failed: ${failed.error.message}` } };
    else if (nullArg) out[i] = { value: null };
    else todo.push({ i, values });
  }
  const check = (v: unknown): Outcome => {
    try {
      return { value: validateValue(`${node.udf} result`, udf.spec.returns, v) };
    } catch (e) {
      return cellError(e);
    }
  };
  if (udf.spec.batch) {
    const { maxSize, fn } = udf.spec.batch;
    for (let k = 0; k < todo.length && !env.stop.error; k += maxSize) {
      const chunk = todo.slice(k, k + maxSize);
      let results: unknown[];
      try {
        results = await withDeadline(
          fn(chunk.map((c) => c.values) as never, env.ctx),
          deadlineMs,
          udfTimeout(`${node.udf} (a batch of ${chunk.length} rows)`, deadlineMs),
        );
        // a wrong count would shift results onto the wrong rows: fail the chunk instead
        if (!Array.isArray(results) || results.length !== chunk.length) {
          throw new TypeError(
            `batch UDF ${node.udf} returned ${Array.isArray(results) ? `${results.length} results` : typeof results} for ${chunk.length} rows`,
          );
        }
      } catch (e) {
        const o = isJobLevelError(e) ? stopWith(env, e) : cellError(e);
        chunk.forEach((c) => (out[c.i] = o));
        continue;
      }
      // a row the UDF could not do for a job-level reason (its request was rate limited) stays
      // pending while the rows it did keep their results
      chunk.forEach((c, j) => {
        const r = results[j];
        out[c.i] = isJobLevelError(r) ? stopWith(env, r) : r instanceof Error ? cellError(r) : check(r);
      });
    }
  } else {
    const fn = udf.spec.fn!;
    let next = 0;
    // after a job-level error (a 429, a network failure) the lanes stop calling: the job is retried
    const worker = async () => {
      while (next < todo.length && !env.stop.error) {
        const c = todo[next++]!;
        try {
          // a synchronous UDF's result is taken as it is: awaiting each would cost a turn of the event loop per cell
          const r: unknown = fn(c.values as never, env.ctx);
          out[c.i] = check(isThenable(r) ? await withDeadline(r, deadlineMs, udfTimeout(node.udf, deadlineMs)) : r);
        } catch (e) {
          out[c.i] = isJobLevelError(e) ? stopWith(env, e) : cellError(e);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(env.concurrency ?? 16, todo.length)) }, worker));
  }
  // cells not attempted after a stop
  for (const c of todo) out[c.i] ??= PENDING;
  return out;
}

const isThenable = (v: unknown): v is PromiseLike<unknown> => typeof (v as { then?: unknown } | null)?.then === 'function';
