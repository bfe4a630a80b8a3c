/**
 * Compile-time checks, run by the root `npm run typecheck` (this is not a jest test and is never
 * executed). Every `@ts-expect-error` must be consumed by a real error: if the type a line tests
 * stops being rejected, tsc reports the directive as unused. The lines without one must compile.
 */
import { z } from 'zod';
import { t, defineUdf, definePipeline, literal, type Expr, type SourceReader } from '@tessera/core';

/** a reader whose items are `{ name, n }` (connectors' folder() and sqlQuery() are typed the same way) */
const named = { kind: 'query', description: 'test', page: async () => ({ rows: [], cursor: null }), close: async () => {} } as SourceReader<{
  name: string;
  n: number;
}>;

const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const half = defineUdf({ name: 'half', version: '1', params: [t.float()], returns: t.float(), fn: ([x]) => x / 2 });
const join = defineUdf({
  name: 'join',
  version: '1',
  params: [t.string(), t.int()],
  returns: t.string(),
  fn: ([s, n]) => s.repeat(n),
});
const frames = defineUdf({ name: 'frames', version: '1', params: [t.video()], returns: t.int(), fn: () => 0 });
const near = defineUdf({ name: 'near', version: '1', params: [t.embedding(3)], returns: t.float(), fn: ([v]) => v[0]! });

export const compileChecks = definePipeline('compile-checks', (p) => {
  const items = p.table('items', {
    id: t.string().primaryKey(),
    title: t.string(),
    count: t.int(),
    price: t.float(),
    clip: t.video(),
    meta: t.json(z.object({ author: z.object({ name: z.string() }), tags: z.array(z.string()) })),
    loose: t.json(),
    vec: t.embedding(3),
  });

  // ---- positive: these compile ----
  items.compute('shout', upper(items.title));
  items.compute('half_count', half(items.count)); // int where float is wanted
  items.compute('half_price', half(items.price));
  items.compute('half_literal', half(3)); // a plain value of the parameter's type
  items.compute('shout_literal', upper('x'));
  items.compute('repeat', join(items.title, items.count));
  items.compute('clip_frames', frames(items.clip));
  items.compute('nearest', near(items.vec));
  items.compute('author', items.meta.at('author.name'));
  items.compute('first_tag', items.loose.at('tags[0]'));
  const shouted = items.compute('shout_twice', upper(upper(items.title)));
  items.compute('shout_thrice', upper(shouted.shout_twice)); // a computed column's reference is typed too
  items.compute('lit', upper(literal(t.string(), 'x')));
  const countRef: Expr<'int', number> = items.count;
  void countRef;

  // ---- negative: each line must be rejected ----
  // @ts-expect-error a video column where the UDF wants a string
  items.compute('bad_kind', upper(items.clip));
  // @ts-expect-error an int column where the UDF wants a string
  items.compute('bad_int', upper(items.count));
  // @ts-expect-error a float is not accepted where an int is wanted (only int -> float widens)
  items.compute('bad_float', join(items.title, items.price));
  // @ts-expect-error a string column where the UDF wants a video
  items.compute('bad_media', frames(items.title));
  // @ts-expect-error a plain value of the wrong type
  items.compute('bad_literal', upper(5));
  // @ts-expect-error the table has no column `nope`
  items.compute('bad_column', upper(items.nope));
  // @ts-expect-error JSON path access on a string column
  items.compute('bad_path', items.title.at('a.b'));
  // @ts-expect-error JSON path access on an embedding column
  items.vec.at('[0]');
  // @ts-expect-error JSON path access on a media column
  items.clip.at('x');
  // @ts-expect-error too many arguments
  items.compute('bad_arity_more', upper(items.title, items.title));
  // @ts-expect-error too few arguments
  items.compute('bad_arity_less', join(items.title));
  // @ts-expect-error no arguments at all
  items.compute('bad_arity_none', upper());
  // @ts-expect-error compute needs an expression, not a plain value
  items.compute('bad_compute', 'hello');
  // @ts-expect-error a JSON path result is json, not a string
  items.compute('bad_path_kind', upper(items.meta.at('author.name')));

  // ---- sources: map is typed by the reader's items and the table's columns ----
  p.source('src_ok', items, named, { map: (r) => ({ id: r.name, title: r.name, count: r.n }) });
  // @ts-expect-error an int column given a string
  p.source('src_bad_type', items, named, { map: (r) => ({ id: r.name, count: r.name }) });
  // @ts-expect-error the reader's items have no `nope`
  p.source('src_bad_item', items, named, { map: (r) => ({ id: r.nope }) });
});

// @ts-expect-error a UDF's fn must return its declared type
defineUdf({ name: 'bad_return', version: '1', params: [t.string()], returns: t.int(), fn: ([s]) => s });
