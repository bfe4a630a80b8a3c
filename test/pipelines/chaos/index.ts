import { definePipeline, defineUdf, t } from '@tessera/core';
import { openai } from '@tessera/functions';
import { stringSplitter } from '@tessera/iterators';
import { postgres, parquetFiles } from '@tessera/connectors';
import { openaiTestUrl, PG_URL } from '../../support/services';

/**
 * The chaos harness's pipeline (test/support/chaos): a batched column and a chain on it, a model
 * chat column and a batched embedding column on the local OpenAI-compatible test server, a view of
 * words with its own computed column, and exports to a Postgres table (the harness's own cluster,
 * so it can be stopped) and to Parquet files. CHAOS_UPPER_VERSION is the "new code" of scenario g:
 * a new UDF version that computes the same values.
 */
const upperOf = (version: string) =>
  defineUdf({
    name: 'chaos_upper',
    version,
    params: [t.string()],
    returns: t.string(),
    batch: { maxSize: 100, fn: async (rows) => rows.map(([s]) => s.toUpperCase()) },
  });
const shout = defineUdf({ name: 'chaos_shout', version: '1', params: [t.string()], returns: t.string(), fn: async ([s]) => `${s}!` });

export const chaosPipeline = (upperVersion: string) =>
  definePipeline('chaos', (p) => {
    const upper = upperOf(upperVersion);
    const url = openaiTestUrl();
    const items = p
      .table('items', { id: t.string().primaryKey(), text: t.string(), n: t.int() })
      .compute('upper', (i) => upper(i.text))
      .compute('shout', (i) => shout(i.upper))
      .compute('summary', (i) => openai.chat(i.text, { model: 'chaos-chat', maxTokens: 16, prompt: 'Summarise: {input}', baseURL: url }))
      .compute('embedding', (i) => openai.embeddings(i.text, { model: 'chaos-embed', dimensions: 8, maxInputsPerRequest: 50, baseURL: url }));
    const words = p.view('words', items, stringSplitter(items.text, { separators: 'sentence' }));
    words.compute('loud', shout(words.text));
    p.export(
      items,
      postgres({
        url: process.env.CHAOS_CUSTOMER_URL ?? PG_URL,
        schema: process.env.CHAOS_CUSTOMER_SCHEMA ?? 'chaos',
        table: 'items',
        create: true,
      }),
      {
        columns: ['text', 'n', 'shout', 'summary'],
      },
    );
    p.export(items, parquetFiles({ destination: process.env.CHAOS_EXPORT_DIR ?? '/tmp/tessera-chaos' }), { columns: ['text', 'shout'] });
  });

export default chaosPipeline(process.env.CHAOS_UPPER_VERSION ?? '1');
