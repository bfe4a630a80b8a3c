import { mkdtempSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RateGate } from '@tessera/core';
import type { ModelUdfContext, ResponseCache } from '../../src';

/** A UdfContext over local files, counting usage, as a worker would build it. */
export function testContext(opts: { rateGate?: RateGate; cache?: ResponseCache; cacheMode?: 'use' | 'refresh' | 'off' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-fn-'));
  const usage: Record<string, number> = {};
  const ctx: ModelUdfContext = {
    media: {
      defaultDestination: `file://${dir}/media`,
      async localPath(ref) {
        return ref.startsWith('file://') ? fileURLToPath(ref) : ref;
      },
      async write(destination, body, o) {
        const bytes = typeof body === 'string' ? null : body;
        const hash = createHash('sha256')
          .update(bytes ?? body)
          .digest('hex');
        const base = destination.startsWith('file://') ? fileURLToPath(destination) : destination;
        mkdirSync(base, { recursive: true });
        const path = join(base, `${hash}.${o.extension}`);
        if (bytes) writeFileSync(path, bytes);
        else copyFileSync(body as string, path);
        return `file://${path}`;
      },
    },
    column: { table: 't', name: 'c' },
    usage: (counter, n) => {
      usage[counter] = (usage[counter] ?? 0) + n;
    },
    ...(opts.rateGate ? { rateGate: opts.rateGate } : {}),
    ...(opts.cache ? { cache: opts.cache } : {}),
    ...(opts.cacheMode ? { cacheMode: opts.cacheMode } : {}),
  };
  return { ctx, usage, dir };
}

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
