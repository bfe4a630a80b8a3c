import { definePipeline, t, type ExportSink } from '@tessera/core';
import { length } from '@tessera/functions';
import { postgres } from '@tessera/connectors';
import { PG_URL } from '../../support/services';

/**
 * An export whose sink kills the worker process shipping a row (test/e2e/export-deaths): as a native
 * crash in a sink's driver, or an out-of-memory kill while shipping, would. Table `notes` is exported
 * twice to "the customer's" Postgres (TESSERA_TEST_CUSTOMER_SCHEMA): to `notes` as usual, and through
 * the `fragile` sink to `notes_fragile`, which dies on a row whose text holds "lethal".
 */
function fragile(inner: ExportSink): ExportSink {
  return {
    name: 'fragile',
    prepare: (schema) => inner.prepare(schema),
    async upsert(schema, rows, batch) {
      if (rows.some((r) => String(r.text).includes('lethal'))) process.kill(process.pid, 'SIGKILL');
      return inner.upsert(schema, rows, batch);
    },
    delete: (schema, keys, batch) => inner.delete(schema, keys, batch),
    retain: (schema, keys, batch) => inner.retain!(schema, keys, batch),
    close: () => inner.close(),
  };
}

export default definePipeline('lethal', (p) => {
  const notes = p.table('notes', { id: t.string().primaryKey(), text: t.string() }).compute('size', (n) => length(n.text));
  const customer = { url: PG_URL, schema: process.env.TESSERA_TEST_CUSTOMER_SCHEMA ?? 'customer', create: true };
  p.export(notes, postgres({ ...customer, table: 'notes' }), { columns: ['text', 'size'] });
  p.export(notes, fragile(postgres({ ...customer, table: 'notes_fragile' })), { columns: ['text', 'size'] });
});
