import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RateGate } from '@tessera/core';
import type { ModelUdfContext, ResponseCache } from '@tessera/functions';
import { LocalMediaContext } from './local-media';

/** the contexts' directories, removed after the test file's tests (a context is made inside tests) */
const made: string[] = [];
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * The context a worker gives a model UDF, over local files: media under a temp directory of its
 * own, usage counted into `usage` (a record of the caller's, or a new one), and the rate gate and
 * response cache asked for.
 */
export function modelContext(
  opts: { rateGate?: RateGate; cache?: ResponseCache; cacheMode?: 'use' | 'refresh' | 'off'; usage?: Record<string, number> } = {},
): { ctx: ModelUdfContext; usage: Record<string, number>; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-fn-'));
  made.push(dir);
  const usage = opts.usage ?? {};
  const ctx: ModelUdfContext = {
    media: new LocalMediaContext(join(dir, 'media')),
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
