import { definePipeline, t } from '@tessera/core';
import { postgres, mysql } from '@tessera/connectors';
import { upper } from '@tessera/functions';
import { MYSQL_URL, PG_URL } from '../../support/services';

/**
 * A table exported to "the customer's" Postgres and MariaDB through addresses the test controls
 * (TCP proxies it closes and reopens), so the targets can go down and come back.
 */
const pgUrl = process.env.TESSERA_TEST_FLAKY_PG_URL ?? PG_URL;
const myUrl = process.env.TESSERA_TEST_FLAKY_MY_URL ?? MYSQL_URL;
const name = process.env.TESSERA_TEST_FLAKY_NAME ?? 'flaky';

export default definePipeline('exporting-flaky', (p) => {
  const notes = p.table('notes', { id: t.string().primaryKey(), body: t.string(), stars: t.int().nullable() }).compute('shout', (n) => upper(n.body));
  p.export(notes, postgres({ url: pgUrl, schema: name, table: 'notes', create: true }), { columns: ['body', 'stars', 'shout'] });
  p.export(notes, mysql({ url: myUrl, table: `${name}_notes`, create: true }), { columns: ['body', 'stars', 'shout'] });
});
