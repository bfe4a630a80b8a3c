import { definePipeline, t } from '@tessera/core';
import { postgres } from '@tessera/connectors';
import { PG_URL } from '../../support/services';

/**
 * A table exported to "the customer's" Postgres (schema SKEW_PG_SCHEMA, read when the definition is
 * built). `deployed` is the code the workers run; `applied` adds a second export, applied before
 * the workers have it (test/e2e/export-code-skew).
 */
export function skewPipeline(variant: 'deployed' | 'applied' = 'deployed') {
  const schema = process.env.SKEW_PG_SCHEMA ?? 'skew';
  return definePipeline('skew', (p) => {
    const notes = p.table('notes', { id: t.string().primaryKey(), body: t.string() });
    p.export(notes, postgres({ url: PG_URL, schema, table: 'notes_a', create: true }), { columns: ['body'] });
    if (variant === 'applied') p.export(notes, postgres({ url: PG_URL, schema, table: 'notes_b', create: true }), { columns: ['body'] });
  });
}

export default skewPipeline('deployed');
