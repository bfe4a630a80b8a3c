import { ColumnType, t, type Kind } from '../types/column-type';

/** The serialisable tree of an expression, as stored in the catalog. */
export type ExprNode =
  | { op: 'column'; table: string; column: string }
  | { op: 'call'; udf: string; version: string; args: ExprNode[] }
  | { op: 'path'; base: ExprNode; path: string[] }
  | { op: 'literal'; value: unknown };

/**
 * A typed expression. `K` (the column kind) is what UDF parameters are checked against at
 * compile time; `T` is the TypeScript type of its values.
 */
export class Expr<K extends Kind = Kind, T = unknown> {
  constructor(
    readonly node: ExprNode,
    readonly type: ColumnType<K, T>,
    /** UDFs referenced by this tree, by `name@version`, so the runtime can find their code */
    readonly udfs: ReadonlyMap<string, import('../udf/udf').Udf> = new Map(),
  ) {}

  /**
   * JSON path access: `meta.at('author.name')` or `meta.at('tags[0]')`. Only on json columns;
   * a missing path yields null.
   */
  at(this: Expr<'json', unknown>, path: string): Expr<'json', unknown> {
    const parts = parseJsonPath(path);
    return new Expr({ op: 'path', base: this.node, path: parts }, t.json().nullable() as ColumnType<'json', unknown>, this.udfs);
  }
}

/** A column of a table or view, usable as an expression. */
export class ColumnRef<K extends Kind = Kind, T = unknown> extends Expr<K, T> {
  constructor(
    readonly table: string,
    readonly column: string,
    type: ColumnType<K, T>,
  ) {
    super({ op: 'column', table, column }, type);
  }
}

export function literal<K extends Kind, T>(type: ColumnType<K, T>, value: T): Expr<K, T> {
  return new Expr({ op: 'literal', value }, type);
}

export function parseJsonPath(path: string): string[] {
  const parts: string[] = [];
  for (const seg of path.split('.')) {
    const m = /^([^[\]]*)((?:\[\d+\])*)$/.exec(seg);
    if (!m) throw new Error(`invalid JSON path ${JSON.stringify(path)}`);
    if (m[1]) parts.push(m[1]);
    for (const idx of m[2]!.matchAll(/\[(\d+)\]/g)) parts.push(idx[1]!);
  }
  if (parts.length === 0) throw new Error(`invalid JSON path ${JSON.stringify(path)}`);
  return parts;
}

export function readJsonPath(value: unknown, path: readonly string[]): unknown {
  let v: unknown = value;
  for (const p of path) {
    if (v === null || v === undefined || typeof v !== 'object') return null;
    v = (v as Record<string, unknown>)[p];
  }
  return v === undefined ? null : v;
}

/** Columns (of any table) an expression reads. */
export function columnsOf(node: ExprNode, out: Array<{ table: string; column: string }> = []) {
  switch (node.op) {
    case 'column':
      out.push({ table: node.table, column: node.column });
      break;
    case 'call':
      node.args.forEach((a) => columnsOf(a, out));
      break;
    case 'path':
      columnsOf(node.base, out);
      break;
  }
  return out;
}
