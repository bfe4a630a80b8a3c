import pg from 'pg';
import mysql from 'mysql2/promise';
import { DuckDBInstance } from '@duckdb/node-api';
import type { Engine } from '@tessera/runtime';
import { waitForExports } from './wait';

/**
 * What the exports e2e tests compare: the record's live rows, and what the customer has in
 * Postgres, MariaDB and the Parquet files (rebuilt by the documented reading rule).
 */
export type Row = Record<string, unknown>;

/** Wait for every cell, then for the control queue (finalize jobs: the exports) to drain. */
export const settle = (engine: Engine, pipeline: string): Promise<void> => waitForExports(engine, pipeline);

/** The record's live rows, these columns, by id. */
export async function recordRows(engine: Engine, pipeline: string, table: string, columns: string[]): Promise<Row[]> {
  const rows = (await engine.store.select(pipeline, table, { limit: 100_000 })) as Row[];
  return rows.map((r) => pick(r, columns)).sort(byId);
}

export async function pgRows(db: pg.Client, qualified: string, columns: string[]): Promise<Row[]> {
  const { rows } = await db.query(`SELECT ${columns.map((c) => `"${c}"`).join(', ')} FROM ${qualified}`);
  return rows.map((r) => pick(r, columns)).sort(byId);
}

export async function myRows(db: mysql.Connection, table: string, columns: string[]): Promise<Row[]> {
  const [rows] = await db.query<mysql.RowDataPacket[]>(`SELECT ${columns.map((c) => `\`${c}\``).join(', ')} FROM \`${table}\``);
  return rows.map((r) => pick(r, columns)).sort(byId);
}

/**
 * The Parquet files read back by the reading rule (connectors README): S = the latest snapshot's
 * sequence; files below S are ignored; per key the row of the highest sequence, unless a delete of
 * a higher sequence holds the key.
 */
export async function parquetRows(dir: string, columns: string[]): Promise<Row[]> {
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const snaps = await duck.runAndReadAll(`SELECT coalesce(max(regexp_extract(file, 'snapshot-(\\d+)', 1)::bigint), 0) FROM glob('${dir}/snapshot-*.json')`);
    const s = Number(snaps.getRows()[0]![0]);
    const hasDeletes = (await duck.runAndReadAll(`SELECT count(*) FROM glob('${dir}/delete-*.parquet')`)).getRows()[0]![0] !== 0n;
    const dels = hasDeletes
      ? `SELECT id, regexp_extract(filename, 'delete-(\\d+)-', 1)::bigint AS v FROM read_parquet('${dir}/delete-*.parquet', filename = true)`
      : 'SELECT NULL::varchar AS id, NULL::bigint AS v WHERE false';
    const r = await duck.runAndReadAll(`
      WITH parts AS (SELECT ${columns.join(', ')}, regexp_extract(filename, 'part-(\\d+)-', 1)::bigint AS v FROM read_parquet('${dir}/part-*.parquet', filename = true, union_by_name = true)),
           live AS (SELECT * FROM parts WHERE v >= ${s}),
           dels AS (SELECT * FROM (${dels}) WHERE v >= ${s}),
           latest AS (SELECT * FROM live QUALIFY row_number() OVER (PARTITION BY id ORDER BY v DESC) = 1)
      SELECT ${columns.join(', ')} FROM latest l WHERE NOT EXISTS (SELECT 1 FROM dels d WHERE d.id = l.id AND d.v > l.v)`);
    return r
      .getRowObjectsJS()
      .map((o) => pick(o as Row, columns))
      .sort(byId);
  } finally {
    duck.closeSync();
  }
}

/** Pairs of (sequence, key) that appear in more than one Parquet row: the reading rule needs none. */
export async function parquetAmbiguities(dir: string): Promise<number> {
  const duck = await (await DuckDBInstance.create(':memory:')).connect();
  try {
    const r = await duck.runAndReadAll(`
      SELECT count(*) FROM (SELECT id, regexp_extract(filename, 'part-(\\d+)-', 1) AS v FROM read_parquet('${dir}/part-*.parquet', filename = true, union_by_name = true)
        GROUP BY id, v HAVING count(*) > 1)`);
    return Number(r.getRows()[0]![0]);
  } finally {
    duck.closeSync();
  }
}

const pick = (r: Row, columns: string[]): Row => Object.fromEntries(columns.map((c) => [c, normalise(r[c])]));
const normalise = (v: unknown): unknown => (typeof v === 'bigint' ? Number(v) : v === undefined ? null : v);
// by key: id, then a view row's position (rows of one id otherwise keep each source's scan order,
// which differs once a re-shipped row moved in the customer's heap)
const byId = (a: Row, b: Row) => String(a.id).localeCompare(String(b.id)) || Number(a.pos ?? 0) - Number(b.pos ?? 0);
