/**
 * Compile-time checks of the rows typed clients write and read (run by `npm run typecheck`, never
 * executed; see compile-errors.ts): `engine.table(pipeline.items)` (@tessera/runtime) and
 * `client.table(pipeline.items)` (@tessera/client) take rows inferred from the declaration.
 */
import { z } from 'zod';
import { t, defineUdf, definePipeline, type InsertRow, type SelectRow, type ShapeOf } from '@tessera/core';
import type { Engine } from '@tessera/runtime';
import type { TesseraClient } from '@tessera/client';

const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });

const shop = definePipeline('shop', (p) => {
  const items = p
    .table('items', {
      id: t.string().primaryKey(),
      title: t.string(),
      price: t.float().nullable(),
      seen: t.timestamp().nullable(),
      meta: t.json(z.object({ lang: z.string() })),
    })
    .compute('loud', (i) => upper(i.title));
  const words = p.view('words', items, {
    def: { name: 'w', version: '1', accepts: ['string'], validate: () => {}, outputs: () => ({ word: t.string() }), queue: 'cpu', async *run() {} },
    input: items.title,
    params: {},
  });
  return { items, words };
});

declare const engine: Engine;
declare const client: TesseraClient;
const items = engine.table(shop.items);

export async function typedRows() {
  // ---- positive: these compile ----
  await items.insert([{ id: 'a', title: 'A', meta: { lang: 'en' } }]); // nullable columns may be left out
  await items.insert([{ id: 'b', title: 'B', price: null, seen: '2026-01-01T00:00:00Z', meta: { lang: 'fr' } }]); // timestamps as ISO strings too
  await items.update([{ id: 'a', price: 2.5 }]); // the key and the columns to change
  await items.upsert([{ id: 'c', title: 'C', meta: { lang: 'de' } }]);
  await items.delete([{ id: 'a' }]);
  const rows = await items.select({ where: { id: 'a' }, orderBy: ['title'] });
  rows[0]?.loud satisfies string | null | undefined; // computed: null until computed
  rows[0]?.seen satisfies Date | null | undefined;
  const some = await items.select({ columns: ['id', 'loud'] });
  some[0]?.id satisfies string | undefined;
  const errs = await items.select({ columns: ['loud'], withErrors: true });
  errs[0]?.loud_errortype satisfies string | null | undefined;
  const wordRows = await engine.table(shop.words).select();
  wordRows[0]?.word satisfies string | undefined;
  wordRows[0]?.loud satisfies string | null | undefined; // a view's rows carry the base's computed columns
  await client.table(shop.items).insert([{ id: 'a', title: 'A', meta: { lang: 'en' } }], { requestId: 'r1' });
  await client.table(shop.items).upsert([{ id: 'a', price: 3 }]);
  // the string API stays untyped, for the CLI and producers that build rows at run time
  await engine.insert('shop', 'items', [{ id: 1, title: 42 }]);
  await client.insert('shop', 'items', [{ anything: true }]);

  // ---- negative: each line must be rejected ----
  // @ts-expect-error a misspelled column (`idd`)
  await items.insert([{ idd: 'a', title: 'A', meta: { lang: 'en' } }]);
  // @ts-expect-error a value of the wrong type: title is a string
  await items.insert([{ id: 'a', title: 42, meta: { lang: 'en' } }]);
  // @ts-expect-error a required column missing (meta is not nullable)
  await items.insert([{ id: 'a', title: 'A' }]);
  // @ts-expect-error json that does not match the column's schema
  await items.insert([{ id: 'a', title: 'A', meta: { lang: 1 } }]);
  // @ts-expect-error a computed column is not written
  await items.insert([{ id: 'a', title: 'A', meta: { lang: 'en' }, loud: 'A' }]);
  // @ts-expect-error null in a non-nullable column
  await items.update([{ id: 'a', title: null }]);
  // @ts-expect-error an update names its row by key
  await items.update([{ title: 'no key' }]);
  // @ts-expect-error a delete takes keys
  await items.delete([{ idd: 'a' }]);
  // @ts-expect-error select() columns are the table's
  await items.select({ columns: ['lodu'] });
  // @ts-expect-error a where filter of the wrong type
  await items.select({ where: { price: 'cheap' } });
  // @ts-expect-error a selected row has only the columns asked for
  (await items.select({ columns: ['id'] }))[0]?.title;
  // @ts-expect-error a view is read, never written
  await engine.table(shop.words).insert([{ word: 'x' }]);
  // @ts-expect-error the producer client checks rows the same way
  await client.table(shop.items).insert([{ id: 'a', title: 42, meta: { lang: 'en' } }]);
  // @ts-expect-error ...and refuses views
  client.table(shop.words);
}

// the row types are usable on their own, e.g. for a function that builds rows
export const toRow = (id: string): InsertRow<ShapeOf<typeof shop.items>['writes']> => ({ id, title: id, meta: { lang: 'en' } });
export type Item = SelectRow<ShapeOf<typeof shop.items>>;
