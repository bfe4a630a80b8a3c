import { columnsOf, type ExprNode } from '../expr/expr';
import { PipelineDefinitionError } from '../errors';
import type { TypeSpec } from '../types/column-type';
import type { PipelineDef, TableDef, OnError } from '../pipeline/pipeline-def';
import { checkExpr } from './resolve-type';
import { addIterationColumns } from './iterations';

/** A computed column as the catalog stores it. */
export interface PlannedComputed {
  expr: ExprNode;
  onError: OnError;
  /** `name@version` of every UDF the expression calls: a worker lacking one refuses the job */
  udfs: string[];
  queue: string;
  /**
   * Set on a base table's iteration column: the cell that records, per base row, that a view's
   * iterator ran (its value is the number of view rows, its error why the iterator failed).
   */
  iterate?: IterationSpec;
}

/** How a base table's rows are iterated into one of its views. */
export interface IterationSpec {
  view: string;
  /** `name@version` of the iterator: a worker with other code refuses the job */
  iterator: string;
  params: unknown;
  /** base rows per iterate job */
  rowsPerJob: number;
  /**
   * The view (or a view of it) reads a computed column of the base, so iteration waits for the
   * base's stages of each batch; otherwise it runs beside them.
   */
  after: boolean;
}

export interface PlannedColumn {
  name: string;
  type: TypeSpec;
  computed?: PlannedComputed;
  /** for views: a base column read through the view */
  inherited?: boolean;
}

/** A group of computed columns one job evaluates together, for one batch of rows. */
export interface Stage {
  queue: string;
  /** in dependency order */
  columns: string[];
}

export interface PlannedTable {
  name: string;
  kind: 'table' | 'view';
  base?: string;
  iterator?: { name: string; version: string; input: string; params: unknown; queue: string };
  columns: PlannedColumn[];
  stages: Stage[];
}

export interface PipelinePlan {
  name: string;
  tables: PlannedTable[];
}

/** Validate a pipeline definition and turn it into the plan `apply` stores and workers execute. */
export function planPipeline(def: PipelineDef): PipelinePlan {
  const byName = new Map(def.tables.map((t) => [t.name, t]));
  const tables = def.tables.map((table) => planTable(def, table, byName));
  addIterationColumns(def, tables);
  return { name: def.name, tables };
}

function planTable(def: PipelineDef, table: TableDef, byName: Map<string, TableDef>): PlannedTable {
  const fail = (column: string | undefined, problem: string): never => {
    throw new PipelineDefinitionError({ pipeline: def.name, table: table.name, ...(column ? { column } : {}) }, problem);
  };
  const inherited: PlannedColumn[] = [];
  if (table.kind === 'view') {
    if (!byName.get(table.base!)) fail(undefined, `base table ${table.base} not found`);
    for (const c of table.inherited ?? []) inherited.push({ name: c.name, type: c.type.spec, inherited: true });
  }
  const own: PlannedColumn[] = [];
  const types = new Map<string, TypeSpec>(inherited.map((c) => [c.name, c.type]));
  for (const c of table.columns) {
    let computed: PlannedComputed | undefined;
    if (c.computed) {
      const node = c.computed.expr.node;
      for (const ref of columnsOf(node)) {
        if (ref.table !== table.name) fail(c.name, `reads ${ref.table}.${ref.column}: a computed column may only read its own table's columns`);
      }
      const problem = checkExpr(node, (n) => types.get(n), def.udfs);
      if (problem) fail(c.name, problem);
      const udfs = [...collectUdfs(node)];
      computed = { expr: node, onError: c.computed.onError, udfs, queue: queueOf(udfs, def) };
    }
    types.set(c.name, c.type.spec);
    own.push({ name: c.name, type: c.type.spec, ...(computed ? { computed } : {}) });
  }
  const columns = [...inherited, ...own];
  const planned: PlannedTable = { name: table.name, kind: table.kind, columns, stages: planStages(columns, (col, p) => fail(col, p)) };
  if (table.iterator) {
    const input = table.iterator.input.node;
    planned.base = table.base!;
    planned.iterator = {
      name: table.iterator.def.name,
      version: table.iterator.def.version,
      input: input.op === 'column' ? input.column : '',
      params: table.iterator.params,
      queue: table.iterator.def.queue,
    };
  }
  return planned;
}

function collectUdfs(node: ExprNode, out = new Set<string>()): Set<string> {
  if (node.op === 'call') {
    out.add(`${node.udf}@${node.version}`);
    node.args.forEach((a) => collectUdfs(a, out));
  } else if (node.op === 'path') collectUdfs(node.base, out);
  return out;
}

/** A column runs on the queue of the most specialised UDF it calls (model > media > cpu). */
function queueOf(udfs: string[], def: PipelineDef): string {
  const queues = udfs.map((id) => def.udfs.get(id)?.spec.queue ?? 'cpu');
  return queues.find((q) => q.startsWith('model:')) ?? queues.find((q) => q === 'media') ?? 'cpu';
}

/**
 * Group computed columns into stages. A column joins the stage of its latest dependency when it
 * runs on the same queue, so a chain of cheap columns is one job per batch; a change of queue
 * starts a new stage. Stages come out in an order that respects every dependency.
 */
export function planStages(columns: PlannedColumn[], fail: (column: string, problem: string) => never): Stage[] {
  // iteration columns are not UDF stages: they run as iterate jobs of their own
  const computed = columns.filter((c) => c.computed && !c.computed.iterate);
  const deps = new Map(computed.map((c) => [c.name, new Set(columnsOf(c.computed!.expr).map((r) => r.column))]));
  // topological order, with cycle detection (a cycle can only come from a hand-built definition)
  const order: PlannedColumn[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (c: PlannedColumn, path: string[]) => {
    const s = state.get(c.name);
    if (s === 'done') return;
    if (s === 'visiting') fail(c.name, `dependency cycle: ${[...path, c.name].join(' -> ')}`);
    state.set(c.name, 'visiting');
    for (const d of deps.get(c.name) ?? []) {
      const dc = computed.find((x) => x.name === d);
      if (dc) visit(dc, [...path, c.name]);
    }
    state.set(c.name, 'done');
    order.push(c);
  };
  computed.forEach((c) => visit(c, []));

  const stageOf = new Map<string, number>();
  const stages: Stage[] = [];
  for (const c of order) {
    const queue = c.computed!.queue;
    let level = 0;
    for (const d of deps.get(c.name) ?? []) {
      const ds = stageOf.get(d);
      if (ds === undefined) continue;
      level = Math.max(level, stages[ds]!.queue === queue ? ds : ds + 1);
    }
    // find the first stage at or after `level` on this queue; stages stay in dependency order
    let idx = stages.findIndex((s, i) => i >= level && s.queue === queue);
    if (idx === -1) {
      stages.push({ queue, columns: [] });
      idx = stages.length - 1;
    }
    stages[idx]!.columns.push(c.name);
    stageOf.set(c.name, idx);
  }
  return stages;
}
