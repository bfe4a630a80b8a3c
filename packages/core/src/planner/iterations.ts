import { columnsOf } from '../expr/expr';
import { rowsPerJobOf } from '../iterator/iterator';
import { PipelineDefinitionError } from '../errors';
import { t } from '../types/column-type';
import type { PipelineDef, TableDef } from '../pipeline/pipeline-def';
import type { PlannedTable } from './plan';

/**
 * Give each view's base table an iteration column named after the view. Its cell says, per base
 * row, whether the iterator has run (pending, done with the number of view rows, or failed with
 * the reason), so iteration is tracked, retried, reconciled and reported like any computed cell;
 * it reads the iterator's input column, so updating that column re-iterates the row.
 */
export function addIterationColumns(def: PipelineDef, tables: PlannedTable[]): void {
  const planned = new Map(tables.map((p) => [p.name, p]));
  for (const view of def.tables) {
    if (view.kind !== 'view' || !view.iterator) continue;
    const base = planned.get(view.base!)!;
    if (base.columns.some((c) => c.name === view.name)) {
      throw new PipelineDefinitionError(
        { pipeline: def.name, table: view.name },
        `the view's name is also a column of ${base.name}; the base row's iteration cell is named after the view, so rename one of them`,
      );
    }
    const input = view.iterator.input.node;
    const it = view.iterator.def;
    base.columns.push({
      name: view.name,
      type: t.int().nullable().spec,
      computed: {
        expr: input,
        onError: 'ignore',
        udfs: [],
        queue: it.queue,
        iterate: {
          view: view.name,
          iterator: `${it.name}@${it.version}`,
          params: view.iterator.params,
          rowsPerJob: rowsPerJobOf(it),
          after: readsComputedOf(def, view, base),
        },
      },
    });
  }
}

/** Does the view, or any view below it, read (compute from, iterate or export) a computed column of `base`? */
function readsComputedOf(def: PipelineDef, view: TableDef, base: PlannedTable): boolean {
  const computed = new Set(base.columns.filter((c) => c.computed && !c.computed.iterate && !c.inherited).map((c) => c.name));
  if (!computed.size) return false;
  const reads = (table: TableDef): boolean => {
    const names = new Set<string>();
    if (table.iterator) columnsOf(table.iterator.input.node).forEach((r) => names.add(r.column));
    for (const c of table.columns) if (c.computed) columnsOf(c.computed.expr.node).forEach((r) => names.add(r.column));
    for (const ex of def.exports) if (ex.source === table.name) ex.columns.forEach((c) => names.add(c));
    if ([...names].some((n) => computed.has(n))) return true;
    return def.tables.some((d) => d.kind === 'view' && d.base === table.name && reads(d));
  };
  return reads(view);
}
