/**
 * Compile-time checks of table and view handles (run by `npm run typecheck`, never executed; see
 * compile-errors.ts): computed and inherited columns are typed properties, `col()` and export
 * columns take only names the table has, and a column is not readable before it is computed.
 */
import { z } from 'zod';
import { t, defineUdf, definePipeline, iteratorCall, type ColumnRef, type Expr, type IteratorDef, type Udf } from '@tessera/core';

const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const len = defineUdf({ name: 'len', version: '1', params: [t.string()], returns: t.int(), fn: ([s]) => s.length });
const tag = defineUdf({ name: 'tag', version: '1', params: [t.string(), t.int()], returns: t.string(), fn: ([s, n]) => `${s}#${n}` });

/** an iterator whose output `title` hides the base's column of that name */
const linesDef: IteratorDef<{ max: number }, { title: ReturnType<typeof t.string>; width: ReturnType<typeof t.int> }> = {
  name: 'lines',
  version: '1',
  accepts: ['string'],
  validate: () => {},
  outputs: () => ({ title: t.string(), width: t.int() }),
  queue: 'cpu',
  async *run() {},
};
const lines = (input: Expr<'string', unknown>) => iteratorCall(linesDef, input, { max: 3 });

export const handleChecks = definePipeline('handle-checks', (p) => {
  // ---- computed columns are typed properties of the handle compute returns ----
  const docs = p
    .table('docs', { id: t.string().primaryKey(), title: t.string(), body: t.string().nullable(), meta: t.json(z.object({ lang: z.string() })) })
    .compute('loud', (d) => upper(d.title))
    .compute('loud_len', (d) => len(d.loud)) // a chain reads the column before it
    .compute('lang', (d) => d.meta.at('lang'));
  const loud: ColumnRef<'string', string | null> = docs.loud; // nullable: null until computed, or when it failed
  const loudLen: Expr<'int', number | null> = docs.col('loud_len'); // col() is typed as the property is
  void loud;
  void loudLen;
  // the expression form still works, with a variable holding the table
  const more = docs.compute('again', upper(docs.loud));
  more.again.column satisfies string;

  // @ts-expect-error `lodu` is not a column of docs (a misspelling)
  docs.lodu;
  // @ts-expect-error col() takes only the table's column names
  docs.col('lodu');
  const early = p.table('early', { id: t.string().primaryKey(), a: t.string() });
  // @ts-expect-error a computed column is not readable before it is computed
  early.compute('b', (e) => upper(e.c)).compute('c', (e) => upper(e.a));
  const statement = p.table('stmt', { id: t.string().primaryKey(), a: t.string() });
  statement.compute('b', upper(statement.a)); // the statement form adds the column at run time...
  // @ts-expect-error ...but only the handle compute returns has it as a property
  statement.b;
  // @ts-expect-error the column exists already
  docs.compute('loud', (d) => upper(d.title));
  // @ts-expect-error a handle's member name is reserved
  docs.compute('col', (d) => upper(d.title));
  // @ts-expect-error a computed int where a string is wanted
  docs.compute('bad_kind', (d) => upper(d.loud_len));
  // @ts-expect-error compute() returns the table, not the column: pass one of its columns
  docs.compute('bad_table', (d) => upper(d.compute('x', upper(d.title))));

  // ---- views see the base's columns, computed ones too, and name hidden ones as the runtime does ----
  const chunks = p.view('chunks', docs, lines(docs.title)).compute('tagged', (c) => tag(c.loud, c.pos));
  chunks.title satisfies ColumnRef<'string', string>; // the iterator's output
  chunks.docs_title satisfies ColumnRef<'string', string>; // the base's column it hides
  chunks.loud_len satisfies ColumnRef<'int', number | null>; // a computed column of the base
  chunks.pos satisfies ColumnRef<'int', number>;
  const sentences = p.view('sentences', chunks, lines(chunks.title));
  sentences.chunks_pos satisfies ColumnRef<'int', number>; // the view of a view: its base's pos
  sentences.tagged satisfies ColumnRef<'string', string | null>;
  sentences.docs_title satisfies ColumnRef<'string', string>;
  sentences.col('chunks_title') satisfies ColumnRef<'string', string>;
  // @ts-expect-error a hidden base column is not readable under its own name (that is the view's)
  sentences.col('docs_pos');
  // @ts-expect-error the view's own column is an int
  chunks.compute('bad_width', (c) => upper(c.width));

  // ---- exports and sources name columns the table has ----
  const sink = { name: 'sink' } as Parameters<typeof p.export>[1];
  p.export(chunks, sink, { columns: ['title', 'tagged', 'loud'], key: ['id', 'pos'] });
  // @ts-expect-error `taged` is not a column of chunks
  p.export(chunks, sink, { columns: ['taged'] });
  // @ts-expect-error a statement-form column is not known to the variable's type
  p.export(statement, sink, { columns: ['b'] });
  // a table that may be one of two revisions (a column added in one) exports the columns of either
  const revised = process.env.REVISION ? statement : statement.compute('c', (s) => upper(s.a));
  p.export(revised, sink, { columns: ['a', 'c'] });
  // @ts-expect-error ...and no other
  p.export(revised, sink, { columns: ['d'] });

  return { docs, chunks, sentences };
});

// the handles the build function returned are typed properties of the pipeline
handleChecks.docs.loud satisfies ColumnRef<'string', string | null>;
handleChecks.sentences.chunks_pos satisfies ColumnRef<'int', number>;
// @ts-expect-error `early` was not returned
handleChecks.early;
// @ts-expect-error a returned name may not hide a member of the definition
definePipeline('clash', (p) => ({ tables: p.table('t', { id: t.string().primaryKey() }) }));

// ---- UDFs compose without casts: a concrete UDF is a registry UDF ----
const registry = new Map<string, Udf>([[upper.id, upper]]);
registry.set(tag.id, tag);
const anyUdf: Udf = len;
void anyUdf;
