import pg from 'pg';
import { definePipeline, defineUdf, t } from '@tessera/core';
import { Engine, type TesseraConfig } from '../src';
import { testConfig } from '../../../test/support/env';
import { cleanup } from '../../../test/support/cleanup';

/**
 * A table whose inserts fill every computed cell is never updated in place, so it is stored in
 * full heap pages; a table with cells that stage jobs write back keeps room on each page for
 * those updates to stay on the page. Applying a definition that changes which one a table is
 * changes its fillfactor for the pages written from then on.
 */
const upper = defineUdf({ name: 'upper', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() });
const later = defineUdf({ name: 'later', version: '1', params: [t.string()], returns: t.string(), fn: async ([s]) => s });

const first = definePipeline('ff', (p) => {
  p.table('cheap', { id: t.string().primaryKey(), s: t.string() }).compute('loud', (x) => upper(x.s));
  p.table('staged', { id: t.string().primaryKey(), s: t.string() }).compute('slow', (x) => later(x.s));
});
// `cheap` gains a column the stage jobs compute; `staged` loses its only one
const second = definePipeline('ff', (p) => {
  p.table('cheap', { id: t.string().primaryKey(), s: t.string() })
    .compute('loud', (x) => upper(x.s))
    .compute('slow', (x) => later(x.s));
  p.table('staged', { id: t.string().primaryKey(), s: t.string() });
});

let cfg: TesseraConfig;
let engine: Engine;
let db: pg.Client;

beforeAll(async () => {
  cfg = testConfig();
  engine = await Engine.connect(cfg);
  db = new pg.Client({ connectionString: cfg.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await engine?.close();
  await cleanup(cfg);
});

async function fillfactors(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const table of await engine.store.tables('ff')) {
    const { rows } = await db.query(`SELECT reloptions FROM pg_class WHERE oid = $1::regclass`, [table.physical]);
    const option = ((rows[0].reloptions as string[] | null) ?? []).find((o) => o.startsWith('fillfactor='));
    out[table.name] = option ? Number(option.split('=')[1]) : 100;
  }
  return out;
}

test('full pages for a table written once, room for the write-back otherwise; a new definition changes it', async () => {
  await engine.apply(first);
  expect(await fillfactors()).toEqual({ cheap: 100, staged: 40 });
  await engine.insert('ff', 'cheap', [{ id: 'a', s: 'hi' }]);
  expect(await engine.store.select('ff', 'cheap')).toEqual([expect.objectContaining({ id: 'a', loud: 'HI' })]);

  await engine.apply(second);
  expect(await fillfactors()).toEqual({ cheap: 40, staged: 100 });
});
