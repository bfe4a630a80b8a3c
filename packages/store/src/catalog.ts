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
  /** the Postgres schema of Tessera's record */
  schema: string;
  /** schema-qualified, quoted physical table name */
  physical: string;
  version: number;
  /** own columns (for a view: pos, the iterator's outputs and its computed columns) */
  columns: CatalogColumn[];
  /** a view's base table (itself linked to its own base) */
  base: CatalogTable | null;
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
  const tables: CatalogTable[] = rows.map((r) => ({
    id: r.id,
    pipeline: r.pipeline,
    name: r.name,
    kind: r.kind,
    baseId: r.base_id,
    iterator: r.iterator,
    stages: r.stages,
    schema,
    physical: `${s}.${ident(r.physical)}`,
    version: r.version,
    columns: r.cols,
    base: null,
  }));
  const byId = new Map(tables.map((t) => [t.id, t]));
  for (const t of tables) {
    if (t.baseId === null) continue;
    // a single table's query does not hold its bases: load them (a view chain is short)
    t.base = byId.get(t.baseId) ?? (await loadTableById(db, schema, t.baseId));
  }
  return tables;
}

async function loadTableById(db: pg.Pool | pg.PoolClient, schema: string, id: number): Promise<CatalogTable> {
  const { rows } = await db.query(`SELECT pipeline, name FROM ${ident(schema)}.tables WHERE id = $1`, [id]);
  if (!rows[0]) throw new TesseraError('E_UNKNOWN_TABLE', `the catalog has no table with id ${id} (a view's base was removed?)`);
  return loadTable(db, schema, rows[0].pipeline, rows[0].name);
}

/** The views whose base is `table`, among `all` (a pipeline's tables). */
export function viewsOf(all: CatalogTable[], table: CatalogTable): CatalogTable[] {
  return all.filter((t) => t.baseId === table.id);
}

/** Iteration columns of a table: one per view over it (see core's IterationSpec). */
export function iterationColumns(table: CatalogTable): CatalogColumn[] {
  return table.columns.filter((c) => c.computed?.iterate);
}

export async function loadTable(db: pg.Pool | pg.PoolClient, schema: string, pipeline: string, table: string): Promise<CatalogTable> {
  const [t] = await loadTables(db, schema, pipeline, table);
  if (!t) throw new TesseraError('E_UNKNOWN_TABLE', `no table ${pipeline}.${table} in the catalog: run \`tessera apply ${pipeline}\` first`);
  return t;
}

export function physicalName(pipeline: string, table: string): string {
  return `${pipeline.replace(/-/g, '_')}__${table}`;
}

/** The sequence that numbers a table's rows. */
export function rowidSequence(table: CatalogTable): string {
  return `${ident(table.schema)}.${ident(`${physicalName(table.pipeline, table.name)}__rowid`)}`;
}
