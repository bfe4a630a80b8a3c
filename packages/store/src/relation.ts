import type { CatalogColumn, CatalogTable } from './catalog';
import { ident, statusCol } from './sql';

/** Which version of each ancestor row a view's rows are read with. */
export type BaseRows =
  /** the live version (current reads, computation) */
  | { mode: 'live' }
  /** the version live at the time the given version of the view (the relation's root) was made */
  | { mode: 'asOf'; version: number }
  /** the latest version, live or retired (the key of a view row whose base row was deleted) */
  | { mode: 'latest' };

/**
 * A table's rows with every column it can read: its own, and for a view the columns it inherits,
 * by joining its base (and the base's base...) on `_base_rowid`. The root table is aliased `t0`,
 * its base `t1`, and so on; system columns (`_rowid`, `_v_min`, ...) are always `t0`'s.
 */
export interface Relation {
  from: string;
  /** the alias of the table holding a column (`t0` for the root's own and system columns) */
  alias(name: string): string;
  /** the qualified SQL of a column, by name */
  col(name: string): string;
  /** the qualified SQL of a computed column's status */
  status(name: string): string;
  /** the qualified SQL of one of a column's physical columns (`errTypeCol`...) */
  cell(name: string, physical: (column: string) => string): string;
  /** the column definition, wherever in the chain it lives */
  column(name: string): CatalogColumn | undefined;
  /** columns inherited from bases (farthest base first), under the names the view sees, without the bases' iteration columns */
  inherited: CatalogColumn[];
  /** the visible names of `pos` at every view level, farthest first (with the base keys, what names a view row) */
  positions: string[];
}

export function relationOf(table: CatalogTable, rows: BaseRows = { mode: 'live' }): Relation {
  const owner = new Map<string, { alias: string; column: string; def: CatalogColumn }>();
  table.columns.forEach((c) => owner.set(c.name, { alias: 't0', column: c.name, def: c }));
  const chain = [table];
  for (let b = table.base; b; b = b.base) chain.push(b);
  const inherited: CatalogColumn[] = [];
  const positions = table.kind === 'view' ? ['pos'] : [];
  const joins: string[] = [`${table.physical} t0`];
  for (let k = 1; k < chain.length; k++) {
    const base = chain[k]!;
    const a = `t${k}`;
    const on = `${a}._rowid = t${k - 1}._base_rowid`;
    if (rows.mode === 'live') joins.push(`JOIN ${base.physical} ${a} ON ${on} AND ${a}._v_max IS NULL`);
    else if (rows.mode === 'latest')
      joins.push(`JOIN LATERAL (SELECT * FROM ${base.physical} b WHERE b._rowid = t${k - 1}._base_rowid ORDER BY b._v_min DESC LIMIT 1) ${a} ON true`);
    else {
      const v = baseVersionAt(table.schema, table.id, rows.version, base.id);
      joins.push(`JOIN ${base.physical} ${a} ON ${on} AND ${a}._v_min <= ${v} AND (${a}._v_max IS NULL OR ${a}._v_max > ${v})`);
    }
    for (const c of base.columns) {
      const name = visibleName(chain, k, c.name);
      owner.set(name, { alias: a, column: c.name, def: { ...c, name } });
      if (c.computed?.iterate) continue;
      inherited.push({ ...c, name });
      if (base.kind === 'view' && c.name === 'pos') positions.unshift(name);
    }
  }
  inherited.sort((x, y) => order(chain, owner, x.name) - order(chain, owner, y.name));
  const alias = (name: string) => owner.get(name)?.alias ?? 't0';
  const cell = (name: string, physical: (column: string) => string) => `${alias(name)}.${ident(physical(owner.get(name)?.column ?? name))}`;
  return {
    from: joins.join(' '),
    alias,
    col: (name) => cell(name, (c) => c),
    status: (name) => cell(name, statusCol),
    cell,
    column: (name) => owner.get(name)?.def,
    inherited,
    positions,
  };
}

/**
 * The name a column of the base at level `k` has in the view at level 0: a nearer table's column
 * of the same name wins, and the base's is renamed `<owner>_<column>` (as definePipeline does).
 */
function visibleName(chain: CatalogTable[], k: number, column: string): string {
  let name = column;
  for (let j = k - 1; j >= 0; j--) if (chain[j]!.columns.some((c) => c.name === name)) name = `${chain[k]!.name}_${column}`;
  return name;
}

/** Sort key: farthest base first, then each table's column order. */
function order(chain: CatalogTable[], owner: Map<string, { alias: string; def: CatalogColumn }>, name: string): number {
  const o = owner.get(name)!;
  const level = Number(o.alias.slice(1));
  return (chain.length - level) * 100_000 + o.def.position;
}

/** The base's version that was current when `version` of the view `viewId` was made (versions are timed by the database clock). */
function baseVersionAt(schema: string, viewId: number, version: number, baseId: number): string {
  const v = `${ident(schema)}.versions`;
  return `(SELECT coalesce(max(bv.version), 0) FROM ${v} bv WHERE bv.table_id = ${Number(baseId)} AND bv.created_at <= (SELECT vv.created_at FROM ${v} vv WHERE vv.table_id = ${Number(viewId)} AND vv.version = ${Number(version)}))`;
}

/** A column a table can read, by the name it sees (a view's inherited ones too), wherever in the chain it lives. */
export const visibleColumn = (table: CatalogTable, name: string): CatalogColumn | undefined => relationOf(table).column(name);
