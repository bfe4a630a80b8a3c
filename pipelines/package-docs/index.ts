import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { definePipeline, defineUdf, t, CellInputError } from '@tessera/core';
import { localEmbedding, wordCount, truncate } from '@tessera/functions';
import { postgres, parquetFiles, folder } from '@tessera/connectors';
import { documentSplitter } from '@tessera/iterators';

/** Where the results go: a table in "your" Postgres (by default the same server, schema package_docs) and Parquet files. */
const exportUrl = process.env.PACKAGE_DOCS_EXPORT_URL ?? process.env.TESSERA_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const exportDir = path.resolve(process.env.PACKAGE_DOCS_EXPORT_DIR ?? '.tessera/exports');
/** This repository: its own READMEs are a folder source of the docs table. */
const repoRoot = path.resolve(import.meta.dirname, '../..');

/**
 * The main example: real Markdown documents (the READMEs of the npm packages this project installs)
 * turned into text, titles, keywords and summaries, and a view of their chunks, each embedded. It
 * needs no network and no API keys; the embedding is Tessera's local hashed n-gram embedding
 * (lexical, not semantic: swap in openai.embeddings for semantic search).
 */
export const readText = defineUdf({
  name: 'read_text',
  version: '1',
  params: [t.document()],
  returns: t.string(),
  async fn([doc], ctx) {
    const file = await ctx.media.localPath(doc);
    const bytes = await readFile(file);
    if (bytes.includes(0)) throw new CellInputError(`${doc}: not a text document (binary content)`);
    const text = bytes.toString('utf8').trim();
    if (!text) throw new CellInputError(`${doc}: the document is empty`);
    return text;
  },
});

export const title = defineUdf({
  name: 'markdown_title',
  version: '1',
  params: [t.string()],
  returns: t.string().nullable(),
  fn: ([text]) => {
    const heading = /^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$/m.exec(text)?.[1] ?? /<h1[^>]*>(.*?)<\/h1>/is.exec(text)?.[1];
    return heading ? heading.replace(/<[^>]+>|!?\[([^\]]*)\]\([^)]*\)/g, '$1').trim() || null : null;
  },
});

const STOP = new Set('the a an and or of to in is it for on with as by be this that are from at you your can use if not will which when all any its has have was but also more into one than then there these they their our we may each been such other only so no how what some should do does via new used using about'.split(' '));

export const keywords = defineUdf({
  name: 'keywords',
  version: '1',
  params: [t.string()],
  returns: t.json(),
  fn: ([text]) => {
    const counts = new Map<string, number>();
    for (const w of text.toLowerCase().replace(/```[\s\S]*?```/g, ' ').match(/[a-z][a-z0-9-]{2,}/g) ?? []) {
      if (!STOP.has(w)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
    return [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, 5).map(([w]) => w);
  },
});

export default definePipeline('package-docs', (p) => {
  const docs = p.table('docs', {
    id: t.string().primaryKey(),
    doc: t.document(),
    package: t.string(),
    version: t.string().nullable(),
  });
  const text = docs.compute('text', readText(docs.doc));
  docs.compute('title', title(text));
  docs.compute('words', wordCount(text));
  docs.compute('keywords', keywords(text));
  docs.compute('summary', truncate(text, 160));
  // each README in chunks of at most 300 tokens under its headings, each chunk embedded: what a RAG index searches
  const chunks = p.view('chunks', docs, documentSplitter(docs.doc, { separators: ['heading', 'token_limit'], limit: 300, overlap: 30, metadata: ['heading', 'sourceline'] }));
  chunks.compute('embedding', localEmbedding(chunks.text));
  // a scheduled backfill: this project's own READMEs, checked every 10 minutes by the workers; new and changed files only
  p.source('project_docs', docs, folder(repoRoot, { glob: ['README.md', '{packages,apps,docker}/**/README.md'] }), {
    schedule: { every: '10m' },
    map: (f) => ({ id: `tessera/${f.key}`, doc: f.url, package: 'tessera', version: null }),
  });
  p.export(docs, postgres({ url: exportUrl, schema: 'package_docs', table: 'docs', create: true }), {
    columns: ['package', 'version', 'title', 'words', 'keywords', 'summary'],
  });
  p.export(chunks, postgres({ url: exportUrl, schema: 'package_docs', table: 'doc_chunks', create: true }), {
    columns: ['package', 'text', 'heading', 'sourceline', 'embedding'],
  });
  p.export(chunks, parquetFiles({ destination: exportDir }), { columns: ['package', 'text', 'heading', 'embedding'] });
});
