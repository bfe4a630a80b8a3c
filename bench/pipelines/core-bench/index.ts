import { definePipeline, defineUdf, t } from '@tessera/core';

/** Three cheap computed columns: the per-row work is trivial, so the bench measures Tessera's overhead. */
export const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
export const square = defineUdf({ name: 'square', version: '1', params: [t.int()], returns: t.int(), fn: ([n]) => n * n });
export const length = defineUdf({ name: 'length', version: '1', params: [t.string()], returns: t.int(), fn: ([s]) => s.length });

export default definePipeline('core-bench', (p) => {
  const events = p.table('events', { id: t.int().primaryKey(), a: t.int(), s: t.string() });
  events.compute('s_upper', upper(events.s));
  events.compute('a_sq', square(events.a));
  events.compute('s_len', length(events.s));
});
