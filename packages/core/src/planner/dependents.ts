import { columnsOf, type ExprNode } from '../expr/expr';

/** Computed columns that read any of `changed`, directly or through other computed columns. */
export function dependentsOf(columns: ReadonlyArray<{ name: string; computed?: { expr: ExprNode } | null }>, changed: string[]): string[] {
  const out = new Set<string>();
  let frontier = new Set(changed);
  while (frontier.size) {
    const next = new Set<string>();
    for (const col of columns) {
      if (!col.computed || out.has(col.name)) continue;
      if (columnsOf(col.computed.expr).some((r) => frontier.has(r.column))) {
        out.add(col.name);
        next.add(col.name);
      }
    }
    frontier = next;
  }
  return [...out];
}
