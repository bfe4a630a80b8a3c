import type { ModelUdfContext } from '../../src';

/** A UdfContext over local files, counting usage, as a worker would build it. */
export { modelContext as testContext } from '../../../../test/support/model-context';

/** Run a row UDF's fn the way the runtime does. */
export async function runFn<A extends unknown[], R>(udf: { spec: { fn?: (args: any, ctx: any) => any } }, args: A, ctx: ModelUdfContext): Promise<R> {
  return (await udf.spec.fn!(args, ctx)) as R;
}

export async function runBatch<R>(
  udf: { spec: { batch?: { fn: (rows: any[], ctx: any) => Promise<any[]> } } },
  rows: unknown[][],
  ctx: ModelUdfContext,
): Promise<Array<R | Error>> {
  return udf.spec.batch!.fn(rows, ctx);
}
