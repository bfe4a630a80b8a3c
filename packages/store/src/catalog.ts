import type pg from 'pg';
import type { PlannedComputed, Stage, TypeSpec } from '@tessera/core';
import { TesseraError } from '@tessera/core';
import { ident } from './sql';

export interface CatalogColumn {
  name: string;
  position: number;
  type: TypeSpec;
  computed: PlannedComputed | null;
  addedVersion: number;
}

export interface CatalogTable {
  id: number;
  pipeline: string;
  name: string;
  kind: 'table' | 'view';
  baseId: number | null;
  iterator: { name: string; version: string; input: string; params: unknown; queue: string } | null;
  stages: Stage[];
  /** schema-qualified, quoted physical table name */
  physical: string;
  version: number;
  columns: CatalogColumn[];
}

/** Read the catalog entries of one pipeline (or one table of it). */
export async function loadTables(db: pg.Pool | pg.PoolClient, schema: string, pipeline: string, table?: string): Promise<CatalogTable[]> {
  const s = ident(schema);
  const { rows } = await db.query(
    `SELECT t.*, coalesce(json_agg(json_build_object('name', c.name, 'position', c.position, 'type', c.type,
              'computed', c.computed, 'addedVersion', c.added_version) ORDER BY c.position)
              FILTER (WHERE c.name IS NOT NULL), '[]') AS cols
       FROM ${s}.tables t LEFT JOIN ${s}.columns c ON c.table_id = t.id
      WHERE t.pipeline = $1 AND ($2::text IS NULL OR t.name = $2)
      GROUP BY t.id ORDER BY t.id`,
    [pipeline, table ?? null],
  );
  return rows.map((r) => ({
    id: r.id,
    pipeline: r.pipeline,
    name: r.name,
    kind: r.kind,
    baseId: r.base_id,
    iterator: r.iterator,
    stages: r.stages,
    physical: `${s}.${ident(r.physical)}`,
    version: r.version,
    columns: r.cols,
  }));
}

export async function loadTable(db: pg.Pool | pg.PoolClient, schema: string, pipeline: string, table: string): Promise<CatalogTable> {
  const [t] = await loadTables(db, schema, pipeline, table);
  if (!t) throw new TesseraError('E_UNKNOWN_TABLE', `no table ${pipeline}.${table} in the catalog: run \`tessera apply ${pipeline}\` first`);
  return t;
}

export function physicalName(pipeline: string, table: string): string {
  return `${pipeline.replace(/-/g, '_')}__${table}`;
}
