import { readdir } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { readRows } from '@tessera/connectors';
import { t } from '@tessera/core';
import { mysqlCounts } from './mysql-probe';

export interface ExportPlaces {
  /** the Postgres the demo's pipelines export to (Tessera's database) */
  databaseUrl: string;
  exportDir: string;
  mediaDir: string;
  mysqlUrl?: string;
  model: boolean;
}

const pgCount = (pool: pg.Pool, sql: string) =>
  pool.query(sql).then(
    (r) => r.rows[0].n as number,
    () => 0,
  );

/**
 * Parquet part files of a view's export, the rows they hold, and the rows a reader gets: files are
 * an upsert log (a row shipped again, by a later version or a retried ship, is in two files), read
 * as the newest row per key (id, pos); the demo deletes nothing, so that is one row per key.
 */
async function parquetParts(dir: string): Promise<{ files: number; rows: number; keys: number }> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.parquet'));
  let rows = 0;
  const keys = new Set<string>();
  const columns = [
    { name: 'id', type: t.string().spec },
    { name: 'pos', type: t.int().spec },
  ];
  for (const f of files) {
    for await (const batch of readRows(path.join(dir, f), columns)) {
      rows += batch.length;
      for (const r of batch) keys.add(JSON.stringify([r.id, r.pos]));
    }
  }
  return { files: files.length, rows, keys: keys.size };
}

const partsLine = (p: { files: number; rows: number; keys: number }) =>
  p.rows === p.keys ? `${p.files} file(s), ${p.rows} rows` : `${p.files} file(s), ${p.keys} rows (${p.rows} in the files; the newest per key counts)`;

/** Rows of LanceDB tables and the type of their vector column, read with LanceDB's own API. */
async function lanceTables(uri: string, tables: Array<[string, string]>): Promise<string[]> {
  const lancedb = await import('@lancedb/lancedb');
  const db = await lancedb.connect(uri);
  try {
    const names = await db.tableNames();
    const out: string[] = [];
    for (const [name, vector] of tables) {
      if (!names.includes(name)) {
        out.push(`${name}: not there`);
        continue;
      }
      const tbl = await db.openTable(name);
      const type = (await tbl.schema()).fields.find((f) => f.name === vector)?.type;
      out.push(`${name} ${await tbl.countRows()} rows (${vector}: ${String(type)})`);
      tbl.close();
    }
    return out;
  } finally {
    db.close();
  }
}

/** What landed where, read back from each target. */
export async function exportsReport(at: ExportPlaces): Promise<string> {
  const pool = new pg.Pool({ connectionString: at.databaseUrl, max: 1 });
  try {
    return await report(at, (sql) => pgCount(pool, sql));
  } finally {
    await pool.end();
  }
}

async function report(at: ExportPlaces, q: (sql: string) => Promise<number>): Promise<string> {
  const lines = [
    `Postgres   package_docs.docs ${await q('SELECT count(*)::int AS n FROM package_docs.docs')} rows, package_docs.doc_chunks ${await q('SELECT count(*)::int AS n FROM package_docs.doc_chunks')} (${await q('SELECT count(embedding)::int AS n FROM package_docs.doc_chunks')} with embeddings)` +
      (at.model ? `, package_docs.doc_llm_summaries ${await q('SELECT count(llm_summary)::int AS n FROM package_docs.doc_llm_summaries')}` : '') +
      `; clips.frames ${await q('SELECT count(*)::int AS n FROM clips.frames')}, clips.segments ${await q('SELECT count(*)::int AS n FROM clips.segments')}`,
  ];
  if (at.mysqlUrl) {
    const my = await mysqlCounts(at.mysqlUrl, ['package_docs', 'clip_frames']).catch((e: Error) => ({ error: e.message }) as Record<string, unknown>);
    lines.push(
      `MySQL      ${Object.entries(my)
        .map(([k, v]) => `${k} ${v ?? 'not there'}${k === 'error' ? '' : ' rows'}`)
        .join(', ')}`,
    );
  } else lines.push('MySQL      skipped (no server answered; set DEMO_MYSQL_URL=mysql://user:pass@host:3306/db)');
  const [chunks, frames] = await Promise.all([parquetParts(path.join(at.exportDir, 'chunks')), parquetParts(path.join(at.exportDir, 'frames'))]);
  lines.push(`Parquet    chunks: ${partsLine(chunks)}; frames: ${partsLine(frames)} (${at.exportDir})`);
  const lance = await lanceTables(path.join(at.exportDir, 'lancedb'), [
    ['doc_chunks', 'embedding'],
    ['frames', 'histogram'],
  ]).catch((e: Error) => [`unreadable: ${e.message}`]);
  lines.push(`LanceDB    ${lance.join('; ')} (${path.join(at.exportDir, 'lancedb')})`);
  const media = async (sub: string) => (await readdir(path.join(at.mediaDir, sub)).catch(() => [] as string[])).length;
  lines.push(
    `media      ${await media('frames')} frame image(s) in ${path.join(at.mediaDir, 'frames')}, ${await media('segments')} audio segment(s) in ${path.join(at.mediaDir, 'segments')}`,
  );
  return lines.join('\n');
}
