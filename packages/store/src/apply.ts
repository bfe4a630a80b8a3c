import type pg from 'pg';
import type { PipelinePlan, PlannedColumn, PlannedComputed, PlannedTable } from '@tessera/core';
import { TesseraError, describeType, dependentsOf } from '@tessera/core';
import { fillFactorOf, keepFillFactor } from './fillfactor';
import { ident, pgType, statusCol, errTypeCol, errMsgCol } from './sql';
import { loadTables, physicalName, type CatalogTable } from './catalog';
import { withTx } from './db';
import { canonicalJson } from './canonical-json';
import { bumpVersion } from './versions';
import { resetDerived, derivedKey, type DerivedVersion } from './derived';

/** What `apply` changed that needs computing: each entry starts a backfill DAG. */
export interface ApplyChange {
  table: string;
  version: number;
  kind: 'create_table' | 'add_column' | 'drop_column' | 'recompute';
  columns: string[];
  /** true when the table has rows the change must compute */
  backfill: boolean;
  /** recomputes: the view work the reset makes, to run after the table's own */
  derived?: DerivedVersion[];
}

export interface ApplyOptions {
  /** allow computed columns whose UDF version or expression changed, recomputing them */
  recompute?: boolean;
  /**
   * Tables whose rows the writer writes once, every computed cell filled at insert (see
   * fillFactorOf): stored in full pages. Unset: every table leaves room for write-backs.
   */
  writtenOnce?: ReadonlySet<string>;
}

/**
 * Make the catalog and the physical tables match a pipeline plan, in one transaction:
 * new tables are created, new columns added (computed ones will be backfilled), dropped columns
 * dropped. A computed column whose UDF version or expression changed is refused unless
 * `recompute` is set, because its stored values would silently disagree with the code.
 */
export async function applyPlan(pool: pg.Pool, schema: string, plan: PipelinePlan, opts: ApplyOptions = {}): Promise<ApplyChange[]> {
  const s = ident(schema);
  return withTx(pool, async (c) => {
    await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tessera-apply:${schema}:${plan.name}`]);
    await c.query(`INSERT INTO ${s}.pipelines (name) VALUES ($1) ON CONFLICT (name) DO UPDATE SET applied_at = now()`, [plan.name]);
    const existing = new Map((await loadTables(c, schema, plan.name)).map((t) => [t.name, t]));
    const changes: ApplyChange[] = [];
    for (const table of plan.tables) {
      const cur = existing.get(table.name);
      if (!cur) changes.push(await createTable(c, schema, plan.name, table, existing, fillFactorOf(table.name, opts.writtenOnce)));
      else changes.push(...(await migrateTable(c, schema, plan.name, table, cur, opts)));
      existing.set(table.name, (await loadTables(c, schema, plan.name, table.name))[0]!);
    }
    const gone = [...existing.keys()].filter((n) => !plan.tables.some((t) => t.name === n));
    if (gone.length) {
      throw new TesseraError(
        'E_APPLY',
        `pipeline ${plan.name}: table(s) ${gone.join(', ')} exist in the catalog but not in the definition; dropping tables is not automatic (run \`tessera drop ${plan.name} <table>\`)`,
      );
    }
    // a recomputed column's views recompute what reads it, once the table's own work is done
    const all = [...existing.values()];
    for (const ch of changes.filter((x) => x.kind === 'recompute')) {
      const table = existing.get(ch.table)!;
      ch.derived = await resetDerived(c, all, table, ch.columns, derivedKey(table, ch.version), `recompute of ${table.name} v${ch.version}`);
    }
    return changes;
  });
}

const ownColumns = (t: PlannedTable) => t.columns.filter((c) => !c.inherited);

function columnDdl(col: PlannedColumn): string[] {
  const parts = [`${ident(col.name)} ${pgType(col.type)}`];
  if (col.computed) {
    parts.push(`${ident(statusCol(col.name))} smallint`, `${ident(errTypeCol(col.name))} text`, `${ident(errMsgCol(col.name))} text`);
  }
  return parts;
}

async function createTable(
  c: pg.PoolClient,
  schema: string,
  pipeline: string,
  table: PlannedTable,
  existing: Map<string, CatalogTable>,
  fillfactor: number,
): Promise<ApplyChange> {
  const s = ident(schema);
  const physical = physicalName(pipeline, table.name);
  const q = `${s}.${ident(physical)}`;
  const base = table.base ? existing.get(table.base) : undefined;
  const seq = `${s}.${ident(`${physical}__rowid`)}`;
  await c.query(`CREATE SEQUENCE ${seq}`);
  // inserts name their rowids, drawn from the sequence a run at once (see insertRowsAt); the default
  // numbers a row whoever else inserts (an older writer during a rolling upgrade)
  const sys = [`_rowid bigint NOT NULL DEFAULT nextval('${seq.replace(/'/g, "''")}')`, '_v_min int NOT NULL', '_v_max int'];
  if (table.kind === 'view') sys.push('_base_rowid bigint NOT NULL');
  const cols = ownColumns(table).flatMap(columnDdl);
  await c.query(`CREATE TABLE ${q} (${[...sys, ...cols].join(', ')}, PRIMARY KEY (_rowid, _v_min)) WITH (fillfactor = ${fillfactor})`);
  const pk = ownColumns(table)
    .filter((col) => col.type.primaryKey)
    .map((col) => ident(col.name));
  await c.query(`CREATE INDEX ${ident(`${physical}__vmin`)} ON ${q} (_v_min)`);
  // retired row versions, found by the version that retired them (exports of deletes)
  await c.query(`CREATE INDEX ${ident(`${physical}__vmax`)} ON ${q} (_v_max) WHERE _v_max IS NOT NULL`);
  if (table.kind === 'table' && pk.length) {
    await c.query(`CREATE UNIQUE INDEX ${ident(`${physical}__pk`)} ON ${q} (${pk.join(', ')}) WHERE _v_max IS NULL`);
  }
  if (table.kind === 'view') {
    await c.query(`CREATE UNIQUE INDEX ${ident(`${physical}__base`)} ON ${q} (_base_rowid, pos) WHERE _v_max IS NULL`);
  }
  const { rows } = await c.query(
    `INSERT INTO ${s}.tables (pipeline, name, kind, base_id, iterator, stages, physical, version)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 1) RETURNING id`,
    [pipeline, table.name, table.kind, base?.id ?? null, table.iterator ? JSON.stringify(table.iterator) : null, JSON.stringify(table.stages), physical],
  );
  const id = rows[0].id as number;
  let pos = 0;
  for (const col of ownColumns(table)) await insertColumn(c, schema, id, col, pos++, 1);
  // a new table has no rows to ship: its first version is shipped as it is made (else the reconcile
  // would take it for a version whose finalize was lost, and re-ship the table in full)
  await c.query(`INSERT INTO ${s}.versions (table_id, version, kind, detail, shipped_at) VALUES ($1, 1, 'create_table', $2, now())`, [
    id,
    `created ${table.kind} ${table.name}`,
  ]);
  // a new view over rows that exist is filled by its base's new iteration column, not here
  return { table: table.name, version: 1, kind: 'create_table', columns: [], backfill: false };
}

async function insertColumn(c: pg.PoolClient, schema: string, tableId: number, col: PlannedColumn, position: number, version: number) {
  await c.query(`INSERT INTO ${ident(schema)}.columns (table_id, name, position, type, computed, added_version) VALUES ($1, $2, $3, $4, $5, $6)`, [
    tableId,
    col.name,
    position,
    JSON.stringify(col.type),
    col.computed ? JSON.stringify(col.computed) : null,
    version,
  ]);
}

async function migrateTable(
  c: pg.PoolClient,
  schema: string,
  pipeline: string,
  table: PlannedTable,
  cur: CatalogTable,
  opts: ApplyOptions,
): Promise<ApplyChange[]> {
  const s = ident(schema);
  const where = `pipeline ${pipeline}, table ${table.name}`;
  const changes: ApplyChange[] = [];
  const wanted = ownColumns(table);
  const byName = new Map(cur.columns.map((col) => [col.name, col]));
  const hasRows = (await c.query(`SELECT 1 FROM ${cur.physical} WHERE _v_max IS NULL LIMIT 1`)).rowCount! > 0;

  // refuse first, change after: a refused apply changes nothing
  const added: PlannedColumn[] = [];
  const recomputed: PlannedColumn[] = [];
  for (const col of wanted) {
    const old = byName.get(col.name);
    if (!old) {
      if (!col.computed && !col.type.nullable && hasRows) {
        throw new TesseraError('E_APPLY', `${where}, column ${col.name}: a new non-computed column on a table with rows must be nullable (.nullable())`);
      }
      added.push(col);
      continue;
    }
    if (describeType(old.type) !== describeType(col.type) && !(old.computed && col.computed)) {
      throw new TesseraError(
        'E_APPLY',
        `${where}, column ${col.name}: type changed from ${describeType(old.type)} to ${describeType(col.type)}; add a column under a new name instead`,
      );
    }
    if (!!old.computed !== !!col.computed) {
      throw new TesseraError('E_APPLY', `${where}, column ${col.name}: changed between computed and base column; use a new name`);
    }
    if (old.computed && col.computed) {
      const udfChanged = JSON.stringify([...old.computed.udfs].sort()) !== JSON.stringify([...col.computed.udfs].sort());
      const exprChanged = canonicalJson(old.computed.expr) !== canonicalJson(col.computed.expr) || describeType(old.type) !== describeType(col.type);
      const iteration = (cc: PlannedComputed) => (cc.iterate ? canonicalJson({ iterator: cc.iterate.iterator, params: cc.iterate.params }) : '');
      const iteratorChanged = iteration(old.computed) !== iteration(col.computed);
      if (udfChanged || exprChanged || iteratorChanged) {
        if (!opts.recompute) {
          const what = iteratorChanged
            ? `the iterator of view ${col.name} changed (${iteration(old.computed)} -> ${iteration(col.computed)}), so its rows were made by the old one`
            : udfChanged
              ? `UDF version changed (${old.computed.udfs.join(', ')} -> ${col.computed.udfs.join(', ')})`
              : 'expression changed';
          throw new TesseraError(
            'E_UDF_VERSION',
            `${where}, column ${col.name}: ${what}; its stored values were computed by the old code. Re-run with --recompute to recompute them`,
          );
        }
        recomputed.push(col);
      } else if (canonicalJson(old.computed) !== canonicalJson(col.computed)) {
        // what does not change values (onError, queue, rows per job) is updated in place
        await c.query(`UPDATE ${s}.columns SET computed = $3 WHERE table_id = $1 AND name = $2`, [cur.id, col.name, JSON.stringify(col.computed)]);
      }
    }
  }
  const dropped = cur.columns.filter((col) => !wanted.some((w) => w.name === col.name));

  for (const col of dropped) {
    const v = await bumpVersion(c, schema, cur.id, 'drop_column', `dropped column ${col.name}`);
    const phys = [col.name, ...(col.computed ? [statusCol(col.name), errTypeCol(col.name), errMsgCol(col.name)] : [])];
    await c.query(`ALTER TABLE ${cur.physical} ${phys.map((p) => `DROP COLUMN ${ident(p)}`).join(', ')}`);
    await c.query(`DELETE FROM ${s}.columns WHERE table_id = $1 AND name = $2`, [cur.id, col.name]);
    changes.push({ table: table.name, version: v, kind: 'drop_column', columns: [col.name], backfill: false });
  }
  if (added.length) {
    const v = await bumpVersion(c, schema, cur.id, 'add_column', `added column(s) ${added.map((a) => a.name).join(', ')}`);
    await c.query(
      `ALTER TABLE ${cur.physical} ${added
        .flatMap(columnDdl)
        .map((d) => `ADD COLUMN ${d}`)
        .join(', ')}`,
    );
    let pos = Math.max(-1, ...cur.columns.map((col) => col.position)) + 1;
    for (const col of added) await insertColumn(c, schema, cur.id, col, pos++, v);
    const computed = added.filter((a) => a.computed).map((a) => a.name);
    changes.push({ table: table.name, version: v, kind: 'add_column', columns: computed, backfill: hasRows && computed.length > 0 });
  }
  if (recomputed.length) {
    const v = await bumpVersion(c, schema, cur.id, 'recompute', `recompute ${recomputed.map((r) => r.name).join(', ')} (definition changed)`);
    for (const col of recomputed) {
      await c.query(`UPDATE ${s}.columns SET computed = $3, type = $4 WHERE table_id = $1 AND name = $2`, [
        cur.id,
        col.name,
        JSON.stringify(col.computed),
        JSON.stringify(col.type),
      ]);
      await c.query(
        `UPDATE ${cur.physical} SET ${ident(col.name)} = NULL, ${ident(statusCol(col.name))} = NULL, ${ident(errTypeCol(col.name))} = NULL, ${ident(errMsgCol(col.name))} = NULL WHERE _v_max IS NULL`,
      );
    }
    // dependents of a recomputed column must be recomputed too
    const dependents = dependentsOf(
      table.columns,
      recomputed.map((r) => r.name),
    ).filter((d) => !recomputed.some((r) => r.name === d));
    for (const d of dependents) {
      await c.query(
        `UPDATE ${cur.physical} SET ${ident(d)} = NULL, ${ident(statusCol(d))} = NULL, ${ident(errTypeCol(d))} = NULL, ${ident(errMsgCol(d))} = NULL WHERE _v_max IS NULL`,
      );
    }
    changes.push({ table: table.name, version: v, kind: 'recompute', columns: [...recomputed.map((r) => r.name), ...dependents], backfill: hasRows });
  }
  await c.query(`UPDATE ${s}.tables SET stages = $2, iterator = $3 WHERE id = $1`, [
    cur.id,
    JSON.stringify(table.stages),
    table.iterator ? JSON.stringify(table.iterator) : null,
  ]);
  if (opts.writtenOnce) await keepFillFactor(c, cur.physical, fillFactorOf(table.name, opts.writtenOnce));
  return changes;
}
