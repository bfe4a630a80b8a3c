import { z } from 'zod';
import { definePipeline, defineUdf, t, CellInputError } from '@tessera/core';
import { countCall as count } from '../../support/call-counter';

/**
 * The test pipeline: a chain (upper -> shout -> shoutLen) and a diamond (upper and words both read
 * text; combo reads both), JSON path access, a failing column (onError: 'ignore') and a batched UDF.
 * Every UDF call is counted in Redis (when TESSERA_TEST_COUNTER names a hash) so tests can check
 * that each cell was computed exactly once across worker processes.
 */

/** per-call delay, so tests can kill a worker while it is mid-run */
const delayMs = Number(process.env.TESSERA_TEST_UDF_DELAY_MS ?? 0);
const pause = () => (delayMs ? new Promise((r) => setTimeout(r, delayMs)) : undefined);

export const upper = defineUdf({
  name: 'upper',
  version: process.env.TESSERA_TEST_UPPER_VERSION ?? '1',
  params: [t.string()],
  returns: t.string(),
  batch: {
    maxSize: 50,
    async fn(rows) {
      await count('upper', rows.length);
      await count('upper_calls');
      await pause();
      return rows.map(([s]) => s.toUpperCase());
    },
  },
});

export const wordCount = defineUdf({
  name: 'word_count',
  version: '1',
  params: [t.string()],
  returns: t.int(),
  async fn([s]) {
    await count('word_count');
    return s.split(/\s+/).filter(Boolean).length;
  },
});

export const combine = defineUdf({
  name: 'combine',
  version: '1',
  params: [t.string(), t.int()],
  returns: t.json(),
  async fn([s, n]) {
    await count('combine');
    return { head: s.slice(0, 3), words: n };
  },
});

export const shout = defineUdf({
  name: 'shout',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  async fn([s]) {
    await count('shout');
    return `${s}!`;
  },
});

export const strLen = defineUdf({
  name: 'str_len',
  version: '1',
  params: [t.string()],
  returns: t.int(),
  async fn([s]) {
    await count('str_len');
    return s.length;
  },
});

export const describe = defineUdf({
  name: 'describe',
  version: '1',
  params: [t.json().nullable(), t.int()],
  returns: t.string(),
  async fn([tag, n]) {
    await count('describe');
    return `${String(tag)}#${n}`;
  },
});

export const checkedRatio = defineUdf({
  name: 'checked_ratio',
  version: '1',
  params: [t.int()],
  returns: t.float(),
  async fn([n]) {
    await count('checked_ratio');
    // TESSERA_TEST_HEAL lets a test "fix the data source" and retry just the failed cells
    if (n % 7 === 0 && !process.env.TESSERA_TEST_HEAL) throw new CellInputError(`n=${n} is a multiple of 7`);
    return 1 / n;
  },
});

/** The pipeline; `variant` lets tests evolve it (add or drop a column, bump a UDF version). */
export function shapesPipeline(variant: { extraColumn?: boolean; dropTagged?: boolean; upperVersion?: string } = {}) {
  const up = variant.upperVersion ? defineUdf({ ...upper.spec, version: variant.upperVersion }) : upper;
  return definePipeline('shapes', (p) => {
    const items = p
      .table('items', {
        id: t.string().primaryKey(),
        text: t.string(),
        n: t.int(),
        meta: t.json(z.object({ tag: z.string() }).passthrough()).nullable(),
      })
      .compute('upper', (i) => up(i.text))
      .compute('words', (i) => wordCount(i.text))
      .compute('combo', (i) => combine(i.upper, i.words)) // diamond: text -> (upper, words) -> combo
      .compute('shout', (i) => shout(i.upper)) // chain: text -> upper -> shout -> shout_len
      .compute('shout_len', (i) => strLen(i.shout));
    if (!variant.dropTagged) items.compute('tagged', describe(items.meta.at('tag'), items.n));
    items.compute('ratio', checkedRatio(items.n), { onError: 'ignore' });
    if (variant.extraColumn) items.compute('text_len', strLen(items.text));
    return { items }; // for typed clients: engine.table(shapes.items)
  });
}

export default shapesPipeline();
