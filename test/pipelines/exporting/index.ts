import { definePipeline, t } from '@tessera/core';
import { postgres, parquetFiles, lancedb } from '@tessera/connectors';
import { upper, localEmbedding } from '@tessera/functions';
import { PG_URL } from '../../support/services';

/**
 * A table exported to "the customer's" Postgres (a schema of the test database), to Parquet files
 * and to a LanceDB dataset beside them, all named by the test through the environment.
 */
const customerUrl = process.env.TESSERA_TEST_CUSTOMER_URL ?? PG_URL;
const customerSchema = process.env.TESSERA_TEST_CUSTOMER_SCHEMA ?? 'customer';
const filesDir = process.env.TESSERA_TEST_EXPORT_DIR ?? '/tmp/tessera-export';

export default definePipeline('exporting', (p) => {
  const notes = p
    .table('notes', { id: t.string().primaryKey(), body: t.string(), stars: t.int().nullable() })
    .compute('shout', (n) => upper(n.body))
    .compute('embedding', (n) => localEmbedding(n.body));
  p.export(notes, postgres({ url: customerUrl, schema: customerSchema, table: 'notes', create: true }), { columns: ['body', 'stars', 'shout', 'embedding'] });
  p.export(notes, parquetFiles({ destination: filesDir }), { columns: ['body', 'shout'] });
  p.export(notes, lancedb({ uri: `${filesDir}/lancedb`, table: 'notes', create: true }), { columns: ['body', 'stars', 'shout', 'embedding'] });
  // an archive: deleting a note does not delete its exported row
  p.export(notes, postgres({ url: customerUrl, schema: customerSchema, table: 'notes_kept', create: true }), { columns: ['body'], propagateDeletes: false });
});
