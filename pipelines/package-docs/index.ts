import path from 'node:path';
import { definePipeline, defineUdf, t, type ColumnName } from '@tessera/core';
import { localEmbedding, wordCount, truncate, openai } from '@tessera/functions';
import { postgres, mysql, lancedb, parquetFiles, folder } from '@tessera/connectors';
import { documentSplitter, documentText, documentTitle } from '@tessera/iterators';

/** Where the results go: a table in "your" Postgres (by default the same server, schema package_docs) and Parquet files. */
const exportUrl = process.env.PACKAGE_DOCS_EXPORT_URL ?? process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const exportDir = path.resolve(process.env.PACKAGE_DOCS_EXPORT_DIR ?? '.tessera/exports');
/** The folder of this repository's own READMEs, copied under the demo's data folder (`npm run demo` does it): a source of the docs table. */
const projectDocs = path.resolve(process.env.TESSERA_DEMO_DATA ?? '.tessera/demo-data', 'project-docs');
/** MySQL/MariaDB export, declared only when set (`npm run demo` sets it when MariaDB answers at 127.0.0.1:3306) */
const mysqlUrl = process.env.DEMO_MYSQL_URL;
/**
 * The model column, declared only when a provider is configured: OpenAI (OPENAI_API_KEY) or any
 * OpenAI-compatible server (TESSERA_OPENAI_BASE_URL: Ollama, vLLM, llama.cpp server).
 */
export const modelConfigured = !!(process.env.OPENAI_API_KEY || process.env.TESSERA_OPENAI_BASE_URL);
export const demoModel = process.env.TESSERA_DEMO_MODEL ?? 'gpt-4o-mini';

/**
 * The documentation of the packages installed on this machine: npm READMEs (Markdown), Debian's
 * HTML and PDF manuals, and two small documents shipped in ./data. Each becomes text, a title,
 * keywords and an excerpt, and a view of its chunks, each embedded. No network and no API keys are
 * needed; the embedding is Tessera's local hashed n-gram embedding (lexical, not semantic: swap in
 * openai.embeddings for semantic search).
 */
const STOP = new Set(
  'the a an and or of to in is it for on with as by be this that are from at you your can use if not will which when all any its has have was but also more into one than then there these they their our we may each been such other only so no how what some should do does via new used using about'.split(
    ' ',
  ),
);

export const keywords = defineUdf({
  name: 'keywords',
  version: '1',
  params: [t.string()],
  returns: t.json(),
  fn: ([text]) => {
    const counts = new Map<string, number>();
    for (const w of text
      .toLowerCase()
      .replace(/```[\s\S]*?```/g, ' ')
      .match(/[a-z][a-z0-9-]{2,}/g) ?? []) {
      if (!STOP.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    return [...counts]
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
      .slice(0, 5)
      .map(([w]) => w);
  },
});

export default definePipeline('package-docs', (p) => {
  const docs = p
    .table('docs', {
      id: t.string().primaryKey(),
      doc: t.document(),
      package: t.string(),
      version: t.string().nullable(),
    })
    // the whole text and title, with the parsers the chunks use (PDF, HTML, Markdown, text)
    .compute('text', (d) => documentText(d.doc))
    .compute('title', (d) => documentTitle(d.doc))
    .compute('words', (d) => wordCount(d.text))
    .compute('keywords', (d) => keywords(d.text))
    .compute('summary', (d) => truncate(d.text, 160));
  const docColumns: ColumnName<typeof docs>[] = ['package', 'version', 'title', 'words', 'keywords', 'summary'];
  if (modelConfigured) {
    // exported to a table of its own, so turning the model on and off leaves the docs table's shape alone
    const summarized = docs.compute(
      'llm_summary',
      openai.chat(truncate(docs.text, 6000), {
        model: demoModel,
        ...(process.env.TESSERA_OPENAI_BASE_URL ? { baseURL: process.env.TESSERA_OPENAI_BASE_URL } : {}),
        system: 'You summarize software documentation in one or two plain sentences.',
        maxTokens: 120,
      }),
      { onError: 'ignore' },
    );
    p.export(summarized, postgres({ url: exportUrl, schema: 'package_docs', table: 'doc_llm_summaries', create: true }), {
      columns: ['package', 'llm_summary'],
    });
  }
  // each document in chunks of at most 300 tokens under its headings, each chunk embedded: what a RAG index searches
  const chunks = p
    .view(
      'chunks',
      docs,
      documentSplitter(docs.doc, { separators: ['heading', 'token_limit'], limit: 300, overlap: 30, metadata: ['heading', 'sourceline', 'page'] }),
    )
    .compute('embedding', (c) => localEmbedding(c.text));
  // a scheduled backfill: this project's own READMEs, checked every 10 minutes by the workers; new and changed files only
  p.source('project_docs', docs, folder(projectDocs, { glob: ['**/README.md'] }), {
    schedule: { every: '10m' },
    map: (f) => ({ id: `tessera/${f.key}`, doc: f.url, package: 'tessera', version: null }),
  });
  p.export(docs, postgres({ url: exportUrl, schema: 'package_docs', table: 'docs', create: true }), { columns: docColumns });
  if (mysqlUrl) p.export(docs, mysql({ url: mysqlUrl, table: 'package_docs', create: true }), { columns: docColumns });
  p.export(chunks, postgres({ url: exportUrl, schema: 'package_docs', table: 'doc_chunks', create: true }), {
    columns: ['package', 'text', 'heading', 'sourceline', 'embedding'],
  });
  p.export(chunks, parquetFiles({ destination: exportDir }), { columns: ['package', 'text', 'heading', 'page', 'embedding'] });
  p.export(chunks, lancedb({ uri: path.join(exportDir, 'lancedb'), table: 'doc_chunks', create: true }), { columns: ['package', 'text', 'page', 'embedding'] });
});
