import { t, defineUdf, definePipeline, planPipeline } from '@tessera/core';
test('smoke', () => {
  const up = defineUdf({ name: 'up', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
  const def = definePipeline('x', (p) => { const a = p.table('a', { id: t.string().primaryKey() }); a.compute('u', up(a.id)); });
  expect(planPipeline(def).tables[0]!.stages).toEqual([{ queue: 'cpu', columns: ['u'] }]);
});
