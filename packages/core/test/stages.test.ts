import {
  t,
  defineUdf,
  definePipeline,
  planPipeline,
  planStages,
  dependentsOf,
  iteratorCall,
  PipelineDefinitionError,
  type IteratorDef,
  type PlannedColumn,
  type ColumnType,
} from '@tessera/core';

const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const trim = defineUdf({ name: 'trim', version: '2', params: [t.string()], returns: t.string(), fn: ([s]) => s.trim() });
const summarize = defineUdf({
  name: 'summarize',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  queue: 'model:openai:x',
  fn: ([s]) => s.slice(0, 10),
});
const thumbnail = defineUdf({ name: 'thumbnail', version: '1', params: [t.video()], returns: t.image(), queue: 'media', fn: ([v]) => `${v}.jpg` });
const caption = defineUdf({ name: 'caption', version: '1', params: [t.image()], returns: t.string(), queue: 'model:anthropic:y', fn: () => '' });
const concat = defineUdf({ name: 'concat', version: '1', params: [t.string(), t.string()], returns: t.string(), fn: ([a, b]) => a + b });

const tableOf = (def: ReturnType<typeof definePipeline>, name: string) => planPipeline(def).tables.find((x) => x.name === name)!;

describe('stage planning', () => {
  test('a chain on one queue is one stage, in dependency order', () => {
    const def = definePipeline('docs', (p) => {
      p.table('docs', { id: t.string().primaryKey(), text: t.string() })
        .compute('a', (d) => trim(d.text))
        .compute('b', (d) => upper(d.a))
        .compute('c', (d) => concat(d.a, d.b));
    });
    const table = tableOf(def, 'docs');
    expect(table.stages).toEqual([{ queue: 'cpu', columns: ['a', 'b', 'c'] }]);
    expect(table.columns.map((c) => [c.name, c.computed?.queue ?? null])).toEqual([
      ['id', null],
      ['text', null],
      ['a', 'cpu'],
      ['b', 'cpu'],
      ['c', 'cpu'],
    ]);
    expect(table.columns.find((c) => c.name === 'c')!.computed!.udfs).toEqual(['concat@1']);
  });

  test('a model-queue column between cpu columns splits the chain into stages in dependency order', () => {
    const def = definePipeline('docs', (p) => {
      const docs = p
        .table('docs', { id: t.string().primaryKey(), text: t.string() })
        .compute('clean', (d) => trim(d.text))
        .compute('summary', (d) => summarize(d.clean))
        .compute('loud', (d) => upper(d.summary));
      // independent of the model column: joins the first cpu stage, not the last
      docs.compute('title', upper(docs.text));
    });
    expect(tableOf(def, 'docs').stages).toEqual([
      { queue: 'cpu', columns: ['clean', 'title'] },
      { queue: 'model:openai:x', columns: ['summary'] },
      { queue: 'cpu', columns: ['loud'] },
    ]);
  });

  test('diamond: two branches on different queues join in a later stage', () => {
    const def = definePipeline('docs', (p) => {
      p.table('docs', { id: t.string().primaryKey(), text: t.string() })
        .compute('a', (d) => trim(d.text))
        .compute('left', (d) => upper(d.a))
        .compute('right', (d) => summarize(d.a))
        .compute('joined', (d) => concat(d.left, d.right));
    });
    expect(tableOf(def, 'docs').stages).toEqual([
      { queue: 'cpu', columns: ['a', 'left'] },
      { queue: 'model:openai:x', columns: ['right'] },
      { queue: 'cpu', columns: ['joined'] },
    ]);
  });

  test('diamond on one queue stays one stage', () => {
    const def = definePipeline('docs', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() }).compute('a', (d) => trim(d.text));
      // the expression form, with the variable holding the table, and the chain mix
      docs
        .compute('b', upper(docs.a))
        .compute('c', trim(docs.a))
        .compute('d', (d) => concat(d.b, d.c));
    });
    expect(tableOf(def, 'docs').stages).toEqual([{ queue: 'cpu', columns: ['a', 'b', 'c', 'd'] }]);
  });

  test('a column runs on the most specialised queue it calls: model > media > cpu', () => {
    const def = definePipeline('clips', (p) => {
      const clips = p.table('clips', { id: t.string().primaryKey(), video: t.video() });
      clips.compute('thumb', thumbnail(clips.video));
      clips.compute('thumb_caption', upper(caption(thumbnail(clips.video))));
    });
    const table = tableOf(def, 'clips');
    const thumbCaption = table.columns.find((c) => c.name === 'thumb_caption')!.computed!;
    expect(thumbCaption.queue).toBe('model:anthropic:y');
    expect([...thumbCaption.udfs].sort()).toEqual(['caption@1', 'thumbnail@1', 'upper@1']);
    expect(table.columns.find((c) => c.name === 'thumb')!.computed!.queue).toBe('media');
    expect(table.stages).toEqual([
      { queue: 'media', columns: ['thumb'] },
      { queue: 'model:anthropic:y', columns: ['thumb_caption'] },
    ]);
  });

  test('the pipeline records every UDF its expressions use, nested ones included', () => {
    const def = definePipeline('clips', (p) => {
      const clips = p.table('clips', { id: t.string().primaryKey(), video: t.video() });
      clips.compute('cap', upper(caption(thumbnail(clips.video))));
    });
    expect([...def.udfs.keys()].sort()).toEqual(['caption@1', 'thumbnail@1', 'upper@1']);
  });

  test('planStages orders hand-built columns by dependency, not by position', () => {
    const col = (name: string, reads: string[], queue = 'cpu'): PlannedColumn => ({
      name,
      type: { kind: 'string', nullable: true, primaryKey: false },
      computed: {
        expr: { op: 'call', udf: 'f', version: '1', args: reads.map((c) => ({ op: 'column', table: 't', column: c })) },
        onError: 'ignore',
        udfs: ['f@1'],
        queue,
      },
    });
    const fail = (column: string, problem: string): never => {
      throw new PipelineDefinitionError({ pipeline: 'p', table: 't', column }, problem);
    };
    expect(planStages([col('c', ['b']), col('b', ['a']), col('a', ['text'])], fail)).toEqual([{ queue: 'cpu', columns: ['a', 'b', 'c'] }]);
    expect(planStages([col('c', ['m']), col('m', ['a'], 'model:x:y'), col('a', ['text'])], fail)).toEqual([
      { queue: 'cpu', columns: ['a'] },
      { queue: 'model:x:y', columns: ['m'] },
      { queue: 'cpu', columns: ['c'] },
    ]);
    expect(planStages([{ name: 'text', type: { kind: 'string', nullable: false, primaryKey: false } }], fail)).toEqual([]);
  });
});

describe('views', () => {
  const lines: IteratorDef<{ max: number }, { line: ColumnType<'string', string> }> = {
    name: 'lines',
    version: '1',
    accepts: ['string'],
    queue: 'cpu',
    validate(params) {
      if (params.max < 1) throw new Error('max must be at least 1');
    },
    outputs: () => ({ line: t.string() }),
    async *run(input) {
      for (const line of input.split('\n')) yield { line };
    },
  };

  test('a view inherits the base columns, adds pos and the iterator outputs, and plans its own stages', () => {
    const def = definePipeline('docs', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() }).compute('clean', (d) => trim(d.text));
      p.view('chunks', docs, iteratorCall(lines, docs.text, { max: 10 }))
        .compute('loud', (c) => upper(c.line))
        .compute('summary', (c) => summarize(concat(c.loud, c.id)));
    });
    const view = tableOf(def, 'chunks');
    expect(view.kind).toBe('view');
    expect(view.base).toBe('docs');
    expect(view.iterator).toEqual({ name: 'lines', version: '1', input: 'text', params: { max: 10 }, queue: 'cpu' });
    expect(view.columns.map((c) => [c.name, c.inherited ?? false])).toEqual([
      ['id', true],
      ['text', true],
      ['clean', true],
      ['pos', false],
      ['line', false],
      ['loud', false],
      ['summary', false],
    ]);
    // an inherited computed column is read, not recomputed by the view
    expect(view.columns.find((c) => c.name === 'clean')!.computed).toBeUndefined();
    expect(view.stages).toEqual([
      { queue: 'cpu', columns: ['loud'] },
      { queue: 'model:openai:x', columns: ['summary'] },
    ]);
  });

  test("the base gets an iteration column named after the view, outside its stages, reading the iterator's input", () => {
    const def = definePipeline('docs', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() }).compute('clean', (d) => trim(d.text));
      p.view('chunks', docs, iteratorCall(lines, docs.text, { max: 10 }));
      p.view('cleaned', docs, iteratorCall(lines, docs.clean, { max: 5 })).compute('loud', (c) => upper(c.line));
    });
    const docs = tableOf(def, 'docs');
    expect(docs.stages).toEqual([{ queue: 'cpu', columns: ['clean'] }]);
    const chunks = docs.columns.find((c) => c.name === 'chunks')!;
    expect(chunks.type).toMatchObject({ kind: 'int', nullable: true });
    expect(chunks.computed).toEqual({
      expr: { op: 'column', table: 'docs', column: 'text' },
      onError: 'ignore',
      udfs: [],
      queue: 'cpu',
      iterate: { view: 'chunks', iterator: 'lines@1', params: { max: 10 }, rowsPerJob: 32, after: false },
    });
    // iterating a computed column waits for the base's stages
    expect(docs.columns.find((c) => c.name === 'cleaned')!.computed!.iterate!.after).toBe(true);
  });

  test('a view reading a computed base column, directly or in a view below it, iterates after the base stages', () => {
    const plan = (read: 'none' | 'view' | 'grandchild' | 'export') =>
      tableOf(
        definePipeline('docs', (p) => {
          const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() }).compute('clean', (d) => trim(d.text));
          const chunks = p.view('chunks', docs, iteratorCall(lines, docs.text, { max: 10 }));
          if (read === 'view') chunks.compute('x', upper(chunks.clean));
          const parts = p.view('parts', chunks, iteratorCall(lines, chunks.line, { max: 3 }));
          if (read === 'grandchild') parts.compute('y', upper(parts.col('clean')));
          if (read === 'export') p.export(chunks, { name: 'sink' } as never, { columns: ['clean'] });
        }),
        'docs',
      ).columns.find((c) => c.name === 'chunks')!.computed!.iterate!.after;
    expect(plan('none')).toBe(false);
    expect(plan('view')).toBe(true);
    expect(plan('grandchild')).toBe(true);
    expect(plan('export')).toBe(true);
  });

  test("a view's own columns hide same-named base columns, which stay readable as <owner>_<column>; export keys carry every level's pos", () => {
    const def = definePipeline('docs', (p) => {
      const docs = p.table('docs', { id: t.string().primaryKey(), line: t.string() });
      const chunks = p.view('chunks', docs, iteratorCall(lines, docs.line, { max: 10 }));
      const parts = p.view('parts', chunks, iteratorCall(lines, chunks.line, { max: 3 }));
      parts.compute('both', concat(parts.line, parts.chunks_line));
      p.export(parts, { name: 'sink' } as never);
    });
    expect(tableOf(def, 'chunks').columns.map((c) => c.name)).toEqual(['id', 'docs_line', 'pos', 'line', 'parts']);
    expect(tableOf(def, 'parts').columns.map((c) => c.name)).toEqual(['id', 'docs_line', 'chunks_pos', 'chunks_line', 'pos', 'line', 'both']);
    expect(def.exports[0]!.key).toEqual(['id', 'chunks_pos', 'pos']);
  });

  test('a view named like a column of its base is refused (the iteration cell takes the name)', () => {
    expect(() =>
      planPipeline(
        definePipeline('docs', (p) => {
          const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string(), chunks: t.string() });
          p.view('chunks', docs, iteratorCall(lines, docs.text, { max: 10 }));
        }),
      ),
    ).toThrow("pipeline docs.chunks: the view's name is also a column of docs");
  });

  test('an iterator given a column kind it does not accept', () => {
    expect(() =>
      definePipeline('docs', (p) => {
        const docs = p.table('docs', { id: t.string().primaryKey(), size: t.int() });
        p.view('chunks', docs, iteratorCall(lines, docs.size, { max: 10 }));
      }),
    ).toThrow(new PipelineDefinitionError({ pipeline: 'docs', table: 'chunks' }, 'iterator lines accepts string columns, not int'));
  });

  test('invalid iterator parameters are reported with the view', () => {
    expect(() =>
      definePipeline('docs', (p) => {
        const docs = p.table('docs', { id: t.string().primaryKey(), text: t.string() });
        p.view('chunks', docs, iteratorCall(lines, docs.text, { max: 0 }));
      }),
    ).toThrow('pipeline docs.chunks: iterator lines: max must be at least 1');
  });
});

describe('dependentsOf', () => {
  const reads = (...cols: string[]) => ({
    expr: { op: 'call' as const, udf: 'f', version: '1', args: cols.map((c) => ({ op: 'column' as const, table: 't', column: c })) },
  });
  const columns = [
    { name: 'text' },
    { name: 'a', computed: reads('text') },
    { name: 'b', computed: reads('a') },
    { name: 'c', computed: reads('b', 'other') },
    { name: 'd', computed: reads('other') },
  ];

  test('follows computed columns transitively', () => {
    expect(dependentsOf(columns, ['text']).sort()).toEqual(['a', 'b', 'c']);
    expect(dependentsOf(columns, ['b'])).toEqual(['c']);
    expect(dependentsOf(columns, ['other']).sort()).toEqual(['c', 'd']);
    expect(dependentsOf(columns, ['c'])).toEqual([]);
  });
});
