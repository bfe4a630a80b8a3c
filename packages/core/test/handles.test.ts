import { t, defineUdf, definePipeline, planPipeline, ConfigError, PipelineDefinitionError } from '@tessera/core';

/** What a pipeline written in plain JS hands over: no compile-time check. */
const untyped = (e: unknown) => e as never;

const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const len = defineUdf({ name: 'len', version: '1', params: [t.string()], returns: t.int(), fn: ([s]) => s.length });

describe('table handles', () => {
  test('compute returns the table, with the new column as a property; a chain plans as the statements do', () => {
    let same = false;
    const chained = definePipeline('docs', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() });
      const after = docs.compute('loud', (d) => upper(d.text)).compute('size', (d) => len(d.loud));
      same = after === docs && after.loud.column === 'loud' && after.loud.table === 'docs';
    });
    const statements = definePipeline('docs', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() });
      docs.compute('loud', upper(docs.text));
      docs.compute('size', len(docs.col(untyped('loud'))));
    });
    expect(same).toBe(true);
    expect(planPipeline(chained)).toEqual(planPipeline(statements));
  });

  test("the handles a build function returns are properties of the definition, outside its keys; a handle's pipeline is not a key either", () => {
    const def = definePipeline('docs', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() }).compute('loud', (d) => upper(d.text));
      return { docs };
    });
    expect(def.docs.name).toBe('docs');
    expect(def.docs['~pipeline']).toBe('docs');
    expect(def.docs.loud.column).toBe('loud');
    expect(Object.keys(def).sort()).toEqual(['exports', 'name', 'sources', 'tables', 'udfs']);
    expect(Object.keys(def.docs).sort()).toEqual(['col', 'compute', 'id', 'loud', 'name', 'text']);
    expect(planPipeline(def).tables.map((x) => x.name)).toEqual(['docs']);
  });

  test('a build function written as an expression may return a single handle, which is not taken for a set of them', () => {
    const def = definePipeline('docs', (p) => p.table('docs', { id: t.string().primaryKey() }));
    expect(Object.keys(def).sort()).toEqual(['exports', 'name', 'sources', 'tables', 'udfs']);
  });

  test('returning something other than its own tables, or under a name the definition uses, is refused', () => {
    const notHandle = () => definePipeline('docs', (p) => untyped({ docs: p.table('docs', { id: t.string().primaryKey() }), n: 3 }));
    expect(notHandle).toThrow(PipelineDefinitionError);
    expect(notHandle).toThrow('pipeline docs: the build function returned "n", which is not a table or view of this pipeline');
    const other = definePipeline('other', (p) => ({ t: p.table('t', { id: t.string().primaryKey() }) }));
    expect(() => definePipeline('docs', () => untyped({ t: other.t }))).toThrow('returned "t", which is not a table or view of this pipeline');
    expect(() => definePipeline('docs', (p) => untyped({ tables: p.table('t', { id: t.string().primaryKey() }) }))).toThrow(
      'pipeline docs: the build function returned "tables", which names a member of the pipeline definition; return it under another name',
    );
  });

  test('a table handed to a UDF where a column is wanted (plain JS using compute as it once returned) fails naming both', () => {
    const build = () =>
      definePipeline('docs', (p) => {
        const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() });
        const loud = docs.compute('loud', upper(docs.text));
        docs.compute('size', len(untyped(loud)));
      });
    expect(build).toThrow(ConfigError);
    expect(build).toThrow('len: argument 1 is the table docs, not a column; pass one of its columns (table.<column>)');
  });

  test('compute given a UDF itself, not a call of it, is refused as before', () => {
    expect(() => definePipeline('docs', (p) => void p.table('docs', { id: t.string().primaryKey() }).compute('x', untyped(upper)))).toThrow(
      'pipeline docs.docs.x: compute() needs an expression (a UDF call or a column)',
    );
  });
});
