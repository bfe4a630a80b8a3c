import { definePipeline, defineUdf, planPipeline, t, type PipelineDef } from '@tessera/core';
import { LEFT_PENDING, type CatalogTable } from '@tessera/store';
import { stringSplitter } from '@tessera/iterators';
import { inlineWrite, writtenOnce } from '../src/inline-compute';

/** Which computed columns an insert fills itself, and what it writes for each row (see inlineWrite). */
const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const upperV2 = defineUdf({ name: 'upper', version: '2', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const half = defineUdf({
  name: 'half',
  version: '1',
  params: [t.int()],
  returns: t.float(),
  fn: ([n]) => {
    if (n < 0) throw new Error('negative');
    return n / 2;
  },
});
const slow = defineUdf({ name: 'slow', version: '1', params: [t.string()], returns: t.string(), fn: async ([s]) => s });
const batched = defineUdf({
  name: 'batched',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  batch: { maxSize: 10, fn: async (rows) => rows.map(([s]) => s) },
});
const modeled = defineUdf({ name: 'modeled', version: '1', params: [t.string()], returns: t.string(), queue: 'model:test:m', fn: ([s]) => s });
const keys = defineUdf({ name: 'keys', version: '1', params: [t.json()], returns: t.int(), fn: ([j]) => Object.keys(j as object).length });

function tableOf(def: PipelineDef, name: string): CatalogTable {
  const planned = planPipeline(def).tables.find((x) => x.name === name)!;
  return { ...planned, columns: planned.columns.map((c) => ({ ...c, computed: c.computed ?? null })) } as unknown as CatalogTable;
}

const def = definePipeline('p', (p) => {
  p.table('docs', { id: t.string().primaryKey(), s: t.string(), n: t.int().nullable(), meta: t.json().nullable() })
    .compute('loud', (d) => upper(d.s))
    .compute('half', (d) => half(d.n))
    .compute('slow', (d) => slow(d.s))
    .compute('slow_loud', (d) => upper(d.slow))
    .compute('batched', (d) => batched(d.s))
    .compute('modeled', (d) => modeled(d.s))
    .compute('meta_keys', (d) => keys(d.meta))
    .compute('louder', (d) => upper(d.loud));
});

test('only synchronous one-row cpu functions over scalars qualify, with what they read', () => {
  const w = inlineWrite(tableOf(def, 'docs'), def.udfs)!;
  expect(w.cells.columns).toEqual(['loud', 'half', 'louder']);
});

test('a row gets the values the functions return; a throw, a null input and what follows are told apart', () => {
  const w = inlineWrite(tableOf(def, 'docs'), def.udfs)!;
  expect(w.cells.cells({ id: 'a', s: 'hi', n: 3 })).toEqual(['HI', 1.5, 'HI']);
  expect(w.filled()).toEqual(['loud', 'half', 'louder']);
  // a null where the function takes none gives null without a call, as a stage job does
  expect(w.cells.cells({ id: 'b', s: 'yo', n: null })).toEqual(['YO', null, 'YO']);
  // a throw leaves the cell to the stage job, which records the error with its usual handling
  expect(w.cells.cells({ id: 'c', s: 'no', n: -1 })).toEqual(['NO', LEFT_PENDING, 'NO']);
  expect(w.filled()).toEqual(['loud', 'louder']);
});

test('code at another version of a function than the catalog recorded computes nothing at insert (the skew rule)', () => {
  // this process runs upper@2; the catalog's columns were applied with upper@1
  const other = definePipeline('p', (p) => {
    const d = p.table('docs', { id: t.string().primaryKey(), s: t.string(), n: t.int().nullable() });
    d.compute('loud', upperV2(d.s));
    d.compute('half', half(d.n));
  });
  expect(inlineWrite(tableOf(def, 'docs'), other.udfs)!.cells.columns).toEqual(['half']);
  expect(inlineWrite(tableOf(def, 'docs'), undefined)).toBeUndefined();
});

test('a function that answers with a promise is left to the stage jobs, from then on', () => {
  const promising = defineUdf({ name: 'promising', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => Promise.resolve(s) });
  const d2 = definePipeline('q', (p) => {
    const d = p.table('docs', { id: t.string().primaryKey(), s: t.string() });
    d.compute('loud', upper(d.s));
    d.compute('later', promising(d.s));
  });
  const table = tableOf(d2, 'docs');
  const first = inlineWrite(table, d2.udfs)!;
  expect(first.cells.columns).toEqual(['loud', 'later']);
  expect(first.cells.cells({ id: 'a', s: 'x' })).toEqual(['X', LEFT_PENDING]);
  expect(first.filled()).toEqual(['loud']);
  expect(inlineWrite(table, d2.udfs)!.cells.columns).toEqual(['loud']);
});

test('a column that reads one left to the stage jobs is left to them too, never computed from a missing input', () => {
  const promising = defineUdf({ name: 'promising2', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => Promise.resolve(s) });
  const d3 = definePipeline('r', (p) => {
    p.table('docs', { id: t.string().primaryKey(), s: t.string() })
      .compute('later', (x) => promising(x.s))
      .compute('later_loud', (x) => upper(x.later))
      .compute('loud', (x) => upper(x.s));
  });
  const table = tableOf(d3, 'docs');
  const first = inlineWrite(table, d3.udfs)!;
  expect(first.cells.cells({ id: 'a', s: 'x' })).toEqual([LEFT_PENDING, LEFT_PENDING, 'X']);
  // `later` is the stage's from now on, and so is what reads it (not upper(null) = null, filled)
  const next = inlineWrite(table, d3.udfs)!;
  expect(next.cells.columns).toEqual(['loud']);
  expect(next.cells.cells({ id: 'b', s: 'y' })).toEqual(['Y']);
});

test('a table is written once when its inserts fill every computed cell: none, or only cheap ones; never one with a view or a stage-computed column', () => {
  const d = definePipeline('w', (p) => {
    p.table('plain', { id: t.string().primaryKey(), s: t.string() });
    p.table('cheap', { id: t.string().primaryKey(), s: t.string(), n: t.int() })
      .compute('loud', (x) => upper(x.s))
      .compute('half', (x) => half(x.n))
      .compute('louder', (x) => upper(x.loud));
    p.table('mixed', { id: t.string().primaryKey(), s: t.string() })
      .compute('loud', (x) => upper(x.s))
      .compute('slow', (x) => slow(x.s));
    const based = p.table('based', { id: t.string().primaryKey(), s: t.string() }).compute('loud', (x) => upper(x.s));
    p.view('parts', based, stringSplitter(based.s));
    const other = p.table('other', { id: t.string().primaryKey(), s: t.string() });
    p.view('pieces', other, stringSplitter(other.s)).compute('loud', (x) => upper(x.text));
  });
  const once = Object.fromEntries(planPipeline(d).tables.map((x) => [x.name, writtenOnce(x, d.udfs)]));
  // `based` has its view's iteration cell, written once the iterator ran; `pieces`' cells are its stage's
  expect(once).toEqual({ plain: true, cheap: true, mixed: false, based: false, parts: true, other: false, pieces: false });
  // without the code, only tables with no computed column at all
  expect(
    planPipeline(d)
      .tables.filter((x) => writtenOnce(x, undefined))
      .map((x) => x.name),
  ).toEqual(['plain', 'parts']);
});
