import { validateValue, type ExprNode, type PlannedTable, type Udf, type UdfContext } from '@tessera/core';
import { LEFT_PENDING, type CatalogTable, type InlineCells } from '@tessera/store';

/**
 * Computed columns an insert fills itself, in the rows it writes (see the store's InlineCells):
 * cheap columns whose every cell would otherwise cost a stage job's read, an UPDATE (a second copy
 * of the row) and a round of jobs. A column qualifies when its expression only calls UDFs that this
 * process has at the exact version the catalog recorded (the fleet's skew rule), each a plain
 * synchronous one-row `fn` on the `cpu` queue, over base columns, literals and other such columns,
 * all of them strings, numbers or booleans (values that read back from Postgres as they were
 * written, so the function sees what a stage job would show it).
 *
 * A cell is filled only when its function returns a valid value. Anything else (a throw, a value
 * of the wrong type, a promise) leaves the cell pending, and the version's stage job computes it
 * with the usual error handling, retries and context; a function that returned a promise is not
 * called at insert again by this process.
 */
const INLINE_KINDS: ReadonlySet<string> = new Set(['string', 'int', 'float', 'bool']);

interface InlineColumn {
  name: string;
  node: ExprNode;
  /** the UDFs it calls (name@version) */
  calls: string[];
  /** the computed columns it reads (each an earlier inline column) */
  reads: string[];
}

/** The work of one insert: its cells, and which columns it filled for every row it wrote. */
export interface InlineWrite {
  cells: InlineCells;
  /** columns none of whose cells were left pending: the version's stage jobs need not run them */
  filled(): string[];
}

const plans = new WeakMap<CatalogTable, { udfs: ReadonlyMap<string, Udf>; columns: InlineColumn[] }>();
/** UDFs seen returning a promise at insert: left to the stage jobs from then on */
const asyncAtRuntime = new WeakSet<Udf>();

/** What an insert into `table` can fill itself with this process's `udfs`, or nothing. */
export function inlineWrite(table: CatalogTable, udfs: ReadonlyMap<string, Udf> | undefined): InlineWrite | undefined {
  if (!udfs || table.kind !== 'table') return undefined;
  let plan = plans.get(table);
  if (plan?.udfs !== udfs) plans.set(table, (plan = { udfs, columns: planColumns(table, udfs) }));
  // a column whose function answered with a promise is the stage's from then on, and so is every
  // column that reads it (computing those here would read its cell as missing)
  const columns: InlineColumn[] = [];
  const slots = new Map<string, number>();
  for (const c of plan.columns) {
    if (c.calls.some((id) => asyncAtRuntime.has(udfs.get(id)!)) || !c.reads.every((r) => slots.has(r))) continue;
    slots.set(c.name, columns.length);
    columns.push(c);
  }
  if (!columns.length) return undefined;
  const left = new Set<string>();
  const evaluators = columns.map((c) => compile(c.node, slots, udfs, inlineContext(table, c.name)));
  return {
    cells: {
      columns: columns.map((c) => c.name),
      cells(row) {
        const out: unknown[] = new Array(evaluators.length);
        for (let k = 0; k < evaluators.length; k++) {
          let v: unknown;
          try {
            v = evaluators[k]!(row, out);
          } catch {
            v = LEFT_PENDING;
          }
          if (v === LEFT_PENDING) left.add(columns[k]!.name);
          out[k] = v;
        }
        return out;
      },
    },
    filled: () => columns.map((c) => c.name).filter((n) => !left.has(n)),
  };
}

/**
 * Whether an insert by code with these `udfs` fills every computed cell of a planned table, so
 * that its rows are written once and never updated in place (the store then keeps them in full
 * pages, see the store's fillFactorOf): a table with no computed column, or whose every computed
 * column qualifies here. A view's rows come from its iterator, whose jobs fill none. Should a
 * function turn out to answer with a promise, its cells go to the stage jobs all the same, whose
 * write-back then costs a new row version elsewhere rather than a HOT update: slower, not wrong.
 */
export function writtenOnce(table: PlannedTable, udfs: ReadonlyMap<string, Udf> | undefined): boolean {
  const computed = table.columns.filter((c) => c.computed && !c.inherited).length;
  if (!computed) return true;
  if (table.kind !== 'table' || !udfs) return false;
  return planColumns(table, udfs).length === computed;
}

/** The table's computed columns that qualify (see above), in column order (a column reads only earlier ones); the table as the catalog or a plan has it. */
function planColumns(table: Pick<CatalogTable, 'columns'> | PlannedTable, udfs: ReadonlyMap<string, Udf>): InlineColumn[] {
  const readable = new Set(table.columns.filter((c) => !c.computed && INLINE_KINDS.has(c.type.kind)).map((c) => c.name));
  const out: InlineColumn[] = [];
  for (const col of table.columns) {
    const computed = col.computed;
    if (!computed || computed.iterate || computed.queue !== 'cpu' || !INLINE_KINDS.has(col.type.kind)) continue;
    if (!qualifies(computed.expr, readable, udfs)) continue;
    const reads = columnsOf(computed.expr).filter((n) => table.columns.some((c) => c.name === n && c.computed));
    out.push({ name: col.name, node: computed.expr, calls: callsOf(computed.expr), reads: [...new Set(reads)] });
    readable.add(col.name);
  }
  return out;
}

function qualifies(node: ExprNode, readable: ReadonlySet<string>, udfs: ReadonlyMap<string, Udf>): boolean {
  switch (node.op) {
    case 'column':
      return readable.has(node.column);
    case 'literal':
      return true;
    case 'call': {
      const udf = udfs.get(`${node.udf}@${node.version}`);
      const spec = udf?.spec;
      if (!spec?.fn || spec.batch || (spec.queue ?? 'cpu') !== 'cpu') return false;
      // an async function always answers later: computing it here would only call it twice
      if (spec.fn.constructor?.name === 'AsyncFunction') return false;
      if (!INLINE_KINDS.has(spec.returns.spec.kind) || !spec.params.every((p) => INLINE_KINDS.has(p.spec.kind))) return false;
      return node.args.every((a) => qualifies(a, readable, udfs));
    }
    default:
      return false; // JSON paths: their inputs are JSON, which Postgres gives back reordered
  }
}

function callsOf(node: ExprNode): string[] {
  return node.op === 'call' ? [`${node.udf}@${node.version}`, ...node.args.flatMap(callsOf)] : [];
}

function columnsOf(node: ExprNode): string[] {
  return node.op === 'column' ? [node.column] : node.op === 'call' ? node.args.flatMap(columnsOf) : [];
}

/** One cell of a row, given the row's earlier inline cells (by slot); LEFT_PENDING when the stage must compute it. */
type Evaluate = (row: Record<string, unknown>, earlier: unknown[]) => unknown;

/**
 * An expression as a function computing one cell as a stage job's evaluate would when the call
 * succeeds: built once per insert, so a row costs its calls and no lookup of functions or names.
 */
function compile(node: ExprNode, slots: ReadonlyMap<string, number>, udfs: ReadonlyMap<string, Udf>, ctx: UdfContext): Evaluate {
  switch (node.op) {
    case 'column': {
      const name = node.column;
      const slot = slots.get(name);
      return slot === undefined ? (row) => row[name] ?? null : (_row, earlier) => earlier[slot];
    }
    case 'literal': {
      const value = node.value;
      return () => value;
    }
    case 'call': {
      const udf = udfs.get(`${node.udf}@${node.version}`)!;
      const fn = udf.spec.fn!;
      const returns = udf.spec.returns;
      const label = `${node.udf} result`;
      const nullable = udf.spec.params.map((p) => p.spec.nullable === true);
      const args = node.args.map((a) => compile(a, slots, udfs, ctx));
      return (row, earlier) => {
        const values: unknown[] = new Array(args.length);
        let nullArg = false;
        for (let k = 0; k < args.length; k++) {
          const v = args[k]!(row, earlier);
          if (v === LEFT_PENDING) return LEFT_PENDING;
          // a null where the UDF does not take null yields null without a call, as in SQL
          if ((v === null || v === undefined) && !nullable[k]) nullArg = true;
          values[k] = v;
        }
        if (nullArg) return null;
        if (asyncAtRuntime.has(udf)) return LEFT_PENDING; // it answered with a promise earlier in this write
        const r: unknown = fn(values as never, ctx);
        if (typeof (r as { then?: unknown } | null)?.then === 'function') {
          asyncAtRuntime.add(udf);
          (r as Promise<unknown>).then(undefined, () => undefined); // its answer is the stage's to get
          return LEFT_PENDING;
        }
        return validateValue(label, returns, r);
      };
    }
    default:
      return () => LEFT_PENDING;
  }
}

/** A qualifying function has no media to read (its inputs are scalars): using it fails the call, and the stage computes the cell. */
function inlineContext(table: CatalogTable, column: string): UdfContext {
  return { media: undefined as unknown as UdfContext['media'], column: { table: table.name, name: column } };
}
