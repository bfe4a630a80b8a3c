import { z } from 'zod';
import {
  t,
  defineUdf,
  definePipeline,
  planPipeline,
  planStages,
  checkName,
  checkPipelineName,
  ColumnRef,
  Expr,
  PipelineDefinitionError,
  TesseraError,
  type PipelineBuilder,
  type PipelineDef,
  type PlannedColumn,
} from '@tessera/core';

/** What a pipeline written in plain JS (or built dynamically) hands to a UDF: no compile-time check. */
const untyped = (e: unknown) => e as never;

const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const near = defineUdf({ name: 'near', version: '1', params: [t.embedding(3)], returns: t.float(), fn: ([v]) => v[0]! });
const sum = defineUdf({ name: 'sum', version: '1', params: [t.array('float')], returns: t.float(), fn: ([v]) => v.reduce((a, b) => a + b, 0) });

const shop = (build: (p: PipelineBuilder, items: ReturnType<typeof itemsTable>) => void) => definePipeline('shop', (p) => build(p, itemsTable(p)));
const itemsTable = (p: PipelineBuilder) =>
  p.table('items', {
    id: t.string().primaryKey(),
    title: t.string(),
    clip: t.video(),
    count: t.int().nullable(),
    vec: t.embedding(4),
    ints: t.array('int'),
    meta: t.json(z.object({ a: z.string() })),
  });

function planError(def: PipelineDef): PipelineDefinitionError {
  try {
    planPipeline(def);
  } catch (e) {
    expect(e).toBeInstanceOf(PipelineDefinitionError);
    return e as PipelineDefinitionError;
  }
  throw new Error('planPipeline accepted the definition');
}

function thrown(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('did not throw');
}

describe('planPipeline type checks (what TypeScript would have caught)', () => {
  test('a video column passed where a string is wanted names pipeline, table, column and both types', () => {
    const def = shop((_, items) => items.compute('shout', upper(untyped(items.clip))));
    const err = planError(def);
    expect(err.message).toBe('pipeline shop.items.shout: upper argument 1 wants string, got video');
    expect(err.code).toBe('E_PIPELINE_DEFINITION');
    expect(err.details).toEqual({ pipeline: 'shop', table: 'items', column: 'shout' });
  });

  test('the mismatch is found inside a nested call', () => {
    const def = shop((_, items) => items.compute('shout', upper(upper(untyped(items.count)))));
    expect(planError(def).message).toBe('pipeline shop.items.shout: upper argument 1 wants string, got int');
  });

  test('a mismatch with a UDF result type is found', () => {
    const def = shop((_, items) => items.compute('bad', upper(untyped(near(items.vec)))));
    // near wants dim 3 and gets dim 4: the innermost problem is reported first
    expect(planError(def).message).toBe('pipeline shop.items.bad: near argument 1 wants array<float>[3], got array<float>[4]');
  });

  test('array element types must match (array<int> where array<float> is wanted)', () => {
    const def = shop((_, items) => items.compute('total', sum(untyped(items.ints))));
    expect(planError(def).message).toBe('pipeline shop.items.total: sum argument 1 wants array<float>, got array<int>');
  });

  test('a nullable column may feed a non-nullable parameter, and an int a float one', () => {
    const half = defineUdf({ name: 'half', version: '1', params: [t.float()], returns: t.float(), fn: ([x]) => x / 2 });
    const def = shop((_, items) => items.compute('half', half(items.count)));
    const plan = planPipeline(def);
    const col = plan.tables[0]!.columns.find((c) => c.name === 'half')!;
    expect(col.type).toEqual({ kind: 'float', nullable: true, primaryKey: false });
    expect(col.computed).toMatchObject({ udfs: ['half@1'], queue: 'cpu', onError: 'ignore' });
  });

  test('wrong arity through an untyped call', () => {
    const def = shop((_, items) => items.compute('two', (upper as (...a: unknown[]) => Expr)(items.title, items.title)));
    expect(planError(def).message).toBe('pipeline shop.items.two: upper takes 1 argument(s), got 2');
  });

  test('a UDF the definition does not register is unknown', () => {
    const def = shop((_, items) => items.compute('x', upper(items.title)));
    def.udfs.clear();
    expect(planError(def).message).toBe('pipeline shop.items.x: unknown UDF upper@1');
  });

  test('JSON path access on a non-json column', () => {
    const def = shop((_, items) => items.compute('deep', (items.title as unknown as Expr<'json'>).at('a.b')));
    expect(planError(def).message).toBe('pipeline shop.items.deep: JSON path access on a string column');
  });

  test('JSON path access on a json column plans as nullable json', () => {
    const def = shop((_, items) => items.compute('a', items.meta.at('a')));
    const col = planPipeline(def).tables[0]!.columns.find((c) => c.name === 'a')!;
    expect(col.type).toEqual({ kind: 'json', nullable: true, primaryKey: false });
    expect(col.computed!.expr).toEqual({ op: 'path', base: { op: 'column', table: 'items', column: 'meta' }, path: ['a'] });
    expect(col.computed!.udfs).toEqual([]);
  });
});

describe('planPipeline column references', () => {
  test('col() of an unknown column fails when the pipeline is defined', () => {
    const err = thrown(() => shop((_, items) => items.compute('x', upper(items.col(untyped('nope'))))));
    expect(err).toBeInstanceOf(PipelineDefinitionError);
    expect(err.message).toBe('pipeline shop.items.nope: unknown column');
  });

  test('a hand-built reference to an unknown column fails at apply', () => {
    const def = shop((_, items) => items.compute('x', upper(new ColumnRef('items', 'nope', t.string()))));
    expect(planError(def).message).toBe('pipeline shop.items.x: unknown column nope');
  });

  test('a reference to a column declared later is unknown (no forward references, so no cycles)', () => {
    const def = shop((_, items) => {
      items.compute('early', upper(new ColumnRef('items', 'late', t.string())));
      items.compute('late', upper(items.title));
    });
    expect(planError(def).message).toBe('pipeline shop.items.early: unknown column late');
  });

  test('col() finds a computed column added earlier', () => {
    const def = shop((_, items) => {
      items.compute('shout', upper(items.title));
      items.compute('again', upper(items.col(untyped('shout'))));
    });
    expect(planPipeline(def).tables[0]!.stages).toEqual([{ queue: 'cpu', columns: ['shout', 'again'] }]);
  });

  test("a computed column reading another table's column", () => {
    const def = definePipeline('shop', (p) => {
      const users = p.table('users', { id: t.string().primaryKey(), nick: t.string() });
      const items = itemsTable(p);
      items.compute('owner', upper(users.nick));
    });
    const err = planError(def);
    expect(err.message).toBe("pipeline shop.items.owner: reads users.nick: a computed column may only read its own table's columns");
    expect(err.details).toEqual({ pipeline: 'shop', table: 'items', column: 'owner' });
  });
});

describe('planStages cycle detection (hand-built plans)', () => {
  const computed = (name: string, reads: string[]): PlannedColumn => ({
    name,
    type: { kind: 'string', nullable: true, primaryKey: false },
    computed: {
      expr: { op: 'call', udf: 'f', version: '1', args: reads.map((c) => ({ op: 'column', table: 't', column: c })) },
      onError: 'ignore',
      udfs: ['f@1'],
      queue: 'cpu',
    },
  });
  const fail = (column: string, problem: string): never => {
    throw new PipelineDefinitionError({ pipeline: 'p', table: 't', column }, problem);
  };

  test('a two-column cycle names the path', () => {
    const err = thrown(() => planStages([computed('a', ['b']), computed('b', ['a'])], fail));
    expect(err).toBeInstanceOf(PipelineDefinitionError);
    expect(err.message).toBe('pipeline p.t.a: dependency cycle: a -> b -> a');
  });

  test('a longer cycle behind an acyclic prefix', () => {
    const cols = [computed('x', ['id']), computed('a', ['x', 'c']), computed('b', ['a']), computed('c', ['b'])];
    expect(thrown(() => planStages(cols, fail)).message).toBe('pipeline p.t.a: dependency cycle: a -> c -> b -> a');
  });

  test('a column reading itself', () => {
    expect(thrown(() => planStages([computed('a', ['a'])], fail)).message).toBe('pipeline p.t.a: dependency cycle: a -> a');
  });

  test('without a cycle, fail is never called', () => {
    const problems: string[] = [];
    const record = (column: string, problem: string): never => {
      problems.push(`${column}: ${problem}`);
      throw new Error(problem);
    };
    expect(planStages([computed('b', ['a']), computed('a', ['id'])], record)).toEqual([{ queue: 'cpu', columns: ['a', 'b'] }]);
    expect(problems).toEqual([]);
  });
});

describe('definition checks', () => {
  test('a table without a primary key', () => {
    const err = thrown(() => definePipeline('shop', (p) => p.table('items', { title: t.string() })));
    expect(err).toBeInstanceOf(PipelineDefinitionError);
    expect(err.message).toBe('pipeline shop.items: needs a primary key (t.string().primaryKey())');
    expect((err as PipelineDefinitionError).details).toEqual({ pipeline: 'shop', table: 'items' });
  });

  test.each(['compute', 'col', 'name', 'pos'])('reserved column name %s in a schema', (name) => {
    const err = thrown(() => definePipeline('shop', (p) => p.table('items', { id: t.string().primaryKey(), [name]: t.string() })));
    expect(err.message).toBe(`pipeline shop.items.${name}: "${name}" is reserved`);
  });

  test('reserved column name for a computed column', () => {
    const err = thrown(() => shop((_, items) => items.compute(untyped('pos'), upper(items.title))));
    expect(err.message).toBe('pipeline shop.items.pos: "pos" is reserved');
  });

  test('a computed column declared twice, or over a base column', () => {
    expect(thrown(() => shop((_, items) => items.compute(untyped('title'), upper(items.title)))).message).toBe(
      'pipeline shop.items.title: column is declared twice',
    );
  });

  test('a table declared twice', () => {
    const err = thrown(() =>
      definePipeline('shop', (p) => {
        p.table('items', { id: t.string().primaryKey() });
        p.table('items', { id: t.string().primaryKey() });
      }),
    );
    expect(err.message).toBe('pipeline shop.items: declared twice');
  });

  test('a schema entry that is not a column type', () => {
    const err = thrown(() => definePipeline('shop', (p) => p.table('items', { id: t.string().primaryKey(), n: untyped('int') })));
    expect(err.message).toBe('pipeline shop.items.n: not a column type (use t.string(), t.int(), ...)');
  });

  test('compute() given something that is not an expression', () => {
    const err = thrown(() => shop((_, items) => items.compute('x', untyped('hello'))));
    expect(err.message).toBe('pipeline shop.items.x: compute() needs an expression (a UDF call or a column)');
  });
});

describe('names', () => {
  const rule = 'use lowercase letters, digits and single underscores, starting with a letter, at most 40 characters';

  test.each(['Items', '1items', 'my items', 'a__b', 'a-b', '_a', 'x'.repeat(41), ''])('invalid table name %j', (name) => {
    const err = thrown(() => definePipeline('shop', (p) => p.table(name, { id: t.string().primaryKey() })));
    expect(err).toBeInstanceOf(TesseraError);
    expect((err as TesseraError).code).toBe('E_NAME');
    expect(err.message).toBe(`invalid table name ${JSON.stringify(name)}: ${rule}`);
  });

  test('invalid column names, in a schema and in compute()', () => {
    expect(thrown(() => definePipeline('shop', (p) => p.table('items', { Id: t.string().primaryKey() }))).message).toBe(`invalid column name "Id": ${rule}`);
    expect(thrown(() => shop((_, items) => items.compute('has__double', upper(items.title)))).message).toBe(`invalid column name "has__double": ${rule}`);
  });

  test('valid names pass through', () => {
    expect(checkName('column', 'a1_b2')).toBe('a1_b2');
    expect(checkName('view', 'x'.repeat(40))).toBe('x'.repeat(40));
    expect(checkPipelineName('my-pipe-2')).toBe('my-pipe-2');
  });

  test.each(['Shop', 'my_pipe', '-shop', '1shop', 'a'.repeat(21)])('invalid pipeline name %j', (name) => {
    const err = thrown(() => definePipeline(name, () => {}));
    expect((err as TesseraError).code).toBe('E_NAME');
    expect(err.message).toBe(
      `invalid pipeline name ${JSON.stringify(name)}: use lowercase letters, digits and hyphens, starting with a letter, at most 20 characters`,
    );
  });
});

test('a constant argument of the wrong type is refused at apply, naming it', async () => {
  const { definePipeline: define, defineUdf: udf, planPipeline: plan, t: types } = await import('@tessera/core');
  const shout = udf({ name: 'shout_lit', version: '1', params: [types.string()], returns: types.string(), fn: ([s]) => s });
  const def = define('lits', (p) => {
    const a = p.table('a', { id: types.string().primaryKey() });
    a.compute('x', shout(5 as never));
  });
  expect(() => plan(def)).toThrow('pipeline lits.a.x: column shout_lit argument 1: expected a string, got number 5');
});
