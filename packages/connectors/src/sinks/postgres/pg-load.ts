import { createHash } from 'node:crypto';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ExportRow } from '@tessera/core';
import { quotePg } from '../../sql/identifiers';
import { arrayLiteral, type PgColumn } from './pg-columns';
import { CopyWriter } from './copy-binary';

/**
 * The staging table binary COPY fills for rows of these columns: a temporary table each connection
 * makes once and keeps, emptied at every commit (ON COMMIT DELETE ROWS). Made and dropped per
 * transaction instead, every ship (up to several a second under a stream) would add and delete
 * rows of the customer's system catalogs, which bloat and keep autovacuum busy. Named by its
 * columns, so a changed export gets a table of its own shape.
 */
export function stageTable(columns: PgColumn[]): { name: string; createSql: string } {
  const defs = columns.map((c) => `${quotePg(c.name)} ${c.ddl}`).join(', ');
  const name = `tessera_export_stage_${createHash('sha256').update(defs).digest('hex').slice(0, 16)}`;
  return { name, createSql: `create temp table if not exists ${name} (${defs}) on commit delete rows` };
}

/** Binary COPY into the staging table `stage`, in chunks of about a megabyte, minding backpressure. */
export async function copyRows(client: pg.PoolClient, stage: string, columns: PgColumn[], rows: ExportRow[]): Promise<void> {
  const stream = client.query(copyFrom(`copy ${stage} (${columns.map((c) => quotePg(c.name)).join(', ')}) from stdin with (format binary)`));
  const done = new Promise<void>((resolve, reject) => stream.on('finish', resolve).on('error', reject));
  let failed: unknown;
  stream.on('error', (err) => (failed = err));
  const w = new CopyWriter();
  const send = async (buf: Buffer) => {
    if (failed) throw failed;
    if (!stream.write(buf)) await drained(stream);
  };
  try {
    await send(CopyWriter.header());
    for (let from = 0; from < rows.length; ) {
      from = encodeRows(w, columns, rows, from);
      await send(w.take());
    }
    stream.end(CopyWriter.trailer());
  } catch (err) {
    stream.destroy(err as Error);
    await done.catch(() => undefined);
    throw err;
  }
  await done;
}

/**
 * Encode rows from `from` on until about a megabyte is buffered; returns where it stopped. The row
 * loop is kept out of the async copyRows: V8 optimizes a function whose loops run hot, and this
 * small sync one compiles in a fraction of the time (and recompiles cheaply after a deopt).
 */
function encodeRows(w: CopyWriter, columns: PgColumn[], rows: ExportRow[], from: number): number {
  let i = from;
  while (i < rows.length) {
    const row = rows[i++]!;
    w.int16(columns.length);
    for (const c of columns) {
      const v = row[c.name];
      if (v === null || v === undefined) w.null();
      else c.binary(w, v);
    }
    if (w.length >= 1 << 20) break;
  }
  return i;
}

/** Wait for a writable to drain, or to fail (the failure itself surfaces through `done`). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise<void>((resolve) => {
    const finish = () => {
      stream.removeListener('drain', finish);
      stream.removeListener('error', finish);
      resolve();
    };
    stream.on('drain', finish);
    stream.on('error', finish);
  });
}

/** One array literal per column: the whole batch in a handful of parameters. */
export function columnParams(columns: PgColumn[], rows: ExportRow[]): string[] {
  return columns.map((c) => {
    const els = new Array<string>(rows.length);
    for (let i = 0; i < rows.length; i++) els[i] = c.element(rows[i]![c.name]);
    return arrayLiteral(els);
  });
}
