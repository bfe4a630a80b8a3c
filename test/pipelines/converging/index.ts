import { existsSync } from 'node:fs';
import { definePipeline, defineUdf, t, TransientError, type ColumnName } from '@tessera/core';
import { postgres, mysql, parquetFiles } from '@tessera/connectors';
import { length } from '@tessera/functions';
import { MYSQL_URL, PG_URL } from '../../support/services';

/**
 * A table exported to "the customer's" Postgres and MariaDB and to Parquet files, named by the test
 * through the environment (read when the definition is built). `variant` is the pipeline as the
 * customer changes it: `more` adds an exported column and a new export, `less` then stops exporting
 * `stars` (dropped from the Postgres target, opt-in; kept in MariaDB).
 *
 * `shout` is upper(body), except that a body containing "gated" fails its job (a TransientError,
 * as a model API down would) until the file CONVERGE_GATE exists: a batch whose job fails for good.
 */
const gatedUpper = defineUdf({
  name: 'test.gatedUpper',
  version: '1',
  params: [t.string()],
  returns: t.string(),
  fn: ([s]) => {
    const gate = process.env.CONVERGE_GATE;
    if (s.includes('gated') && gate && !existsSync(gate)) throw new TransientError(`gate ${gate} is closed`);
    return s.toUpperCase();
  },
});

export function convergingPipeline(variant: 'base' | 'more' | 'less' = 'base') {
  const pgUrl = process.env.CONVERGE_PG_URL ?? PG_URL;
  const myUrl = process.env.CONVERGE_MY_URL ?? MYSQL_URL;
  const schema = process.env.CONVERGE_PG_SCHEMA ?? 'converge';
  const prefix = process.env.CONVERGE_MY_PREFIX ?? 'converge';
  const dir = process.env.CONVERGE_DIR ?? '/tmp/tessera-converge';
  return definePipeline('converging', (p) => {
    const shouted = p.table('notes', { id: t.string().primaryKey(), body: t.string(), stars: t.int().nullable() }).compute('shout', (n) => gatedUpper(n.body));
    const notes = variant === 'base' ? shouted : shouted.compute('size', (n) => length(n.body));
    const cols: ColumnName<typeof notes>[] =
      variant === 'base' ? ['body', 'stars', 'shout'] : variant === 'more' ? ['body', 'stars', 'shout', 'size'] : ['body', 'shout', 'size'];
    p.export(notes, postgres({ url: pgUrl, schema, table: 'notes', create: true, dropColumns: variant === 'less' }), { columns: cols });
    p.export(notes, mysql({ url: myUrl, table: `${prefix}_notes`, create: true }), { columns: cols });
    p.export(notes, parquetFiles({ destination: dir }), { columns: ['body', 'shout'] });
    // a table the customer made, without `shout`: this export is stuck until they add the column
    p.export(notes, postgres({ url: pgUrl, schema, table: 'notes_fixed' }), { columns: ['body', 'shout'] });
    if (variant !== 'base') p.export(notes, postgres({ url: pgUrl, schema, table: 'notes_new', create: true }), { columns: ['body', 'shout'] });
  });
}

export default convergingPipeline('base');
