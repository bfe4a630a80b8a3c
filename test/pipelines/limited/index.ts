import { definePipeline, defineUdf, t, RateLimitedError } from '@tessera/core';
import { countCall } from '../../support/call-counter';

/**
 * UDFs that the "rate limiter" refuses on their first call for some rows, as RedisRateGate does
 * when a slot is too far away. Every call is counted in the Redis hash TESSERA_TEST_COUNTER
 * (`row:<n>` and `batch:<n>` per row), so tests can check that the rows done before a refusal
 * were kept and never computed again.
 */
const counterKey = process.env.TESSERA_TEST_COUNTER ?? 'tessera:test:limited';
const WAIT_MS = Number(process.env.TESSERA_TEST_LIMITED_WAIT_MS ?? 300);

/** per row; rows with n % 7 === 3 are refused the first time */
export const limitedRow = defineUdf({
  name: 'limited_row',
  version: '1',
  params: [t.int()],
  returns: t.int(),
  async fn([n]) {
    const calls = await countCall(`row:${n}`, 1, counterKey);
    await new Promise((r) => setTimeout(r, 2));
    if (n % 7 === 3 && calls === 1) throw new RateLimitedError(WAIT_MS);
    return n * 10;
  },
});

/** batched; rows with n % 5 === 4 come back refused the first time, the others are answered */
export const limitedBatch = defineUdf({
  name: 'limited_batch',
  version: '1',
  params: [t.int()],
  returns: t.int(),
  batch: {
    maxSize: 8,
    async fn(rows) {
      const counts = await Promise.all(rows.map(([n]) => countCall(`batch:${n}`, 1, counterKey)));
      return rows.map(([n], k) => (n % 5 === 4 && counts[k] === 1 ? new RateLimitedError(WAIT_MS) : n + 1));
    },
  },
});

export default definePipeline('limited', (p) => {
  const items = p.table('items', { id: t.int().primaryKey(), n: t.int() });
  items.compute('tens', limitedRow(items.n));
  items.compute('next', limitedBatch(items.n));
});
