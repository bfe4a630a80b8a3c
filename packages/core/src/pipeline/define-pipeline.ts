import { ColumnType, isMediaKind, t, type Kind } from '../types/column-type';
import { ColumnRef, Expr } from '../expr/expr';
import type { IteratorCall } from '../iterator/iterator';
import type { ExportSink } from '../export/sink';
import { checkName, checkPipelineName } from '../names';
import { PipelineDefinitionError } from '../errors';
import type { ColumnDef, ExportDef, InheritedColumn, OnError, PipelineDef, TableDef } from './pipeline-def';
import { defineSource, type SourceOptions } from '../source/define-source';
import type { RowOf, SourceReader } from '../source/source-def';

type Schema = Record<string, ColumnType>;
type Refs<S extends Schema> = {
  [K in keyof S]: S[K] extends ColumnType<infer Kd, infer T> ? ColumnRef<Kd, T> : never;
};

/** Members of a table handle; a column may not take one of these names. */
const RESERVED = new Set(['compute', 'col', 'name', 'pos']);

export interface TableHandleBase {
  readonly name: string;
  /** Add a computed column; returns its reference so later columns can use it. */
  compute<K extends Kind, T>(name: string, expr: Expr<K, T>, opts?: { onError?: OnError; destination?: string }): ColumnRef<K, T>;
  /** A column by name (for columns added with compute, when no variable holds it). */
  col(name: string): ColumnRef;
}
export type TableHandle<S extends Schema> = TableHandleBase & Refs<S>;
/**
 * A view: the base's column references (a view's own columns win over same-named base columns,
 * which stay readable with `col('<owner>_<name>')`), the iterator's outputs, and `pos`.
 */
export type ViewHandle<B extends TableHandleBase, O extends Schema> = Omit<B, keyof O | 'pos' | keyof TableHandleBase> &
  TableHandleBase &
  Refs<O> & { readonly pos: ColumnRef<'int', number> };

export interface ViewOptions {
  /** where the iterator's generated media (frames, segments, tiles) is written; the project default otherwise */
  destination?: string;
}

export interface PipelineBuilder {
  table<S extends Schema>(name: string, schema: S): TableHandle<S>;
  view<B extends TableHandleBase, O extends Record<string, ColumnType>>(
    name: string,
    base: B,
    iterator: IteratorCall<any, O>,
    opts?: ViewOptions,
  ): ViewHandle<B, O>;
  export(source: TableHandleBase, sink: ExportSink, opts?: { columns?: string[]; key?: string[]; propagateDeletes?: boolean }): void;
  /**
   * A source feeding `table` (scheduled backfills): a folder, a bucket prefix or a SQL query with a
   * watermark, mapped item by item to the table's columns (typed by the table), written by primary key.
   */
  source<H extends TableHandleBase, Item>(name: string, table: H, reader: SourceReader<Item>, opts?: SourceOptions<Item, RowOf<H>>): void;
}

/** Declare a pipeline: tables, computed columns, views and exports. */
export function definePipeline(name: string, build: (p: PipelineBuilder) => void): PipelineDef {
  checkPipelineName(name);
  const def: PipelineDef = { name, tables: [], exports: [], sources: [], udfs: new Map() };
  const fail = (table: string, column: string | undefined, problem: string): never => {
    throw new PipelineDefinitionError({ pipeline: name, table, ...(column ? { column } : {}) }, problem);
  };

  const handleFor = (table: TableDef, inherited: ColumnDef[]): TableHandleBase & Record<string, unknown> => {
    const refs = new Map<string, ColumnRef>();
    const addRef = (c: ColumnDef) => {
      if (refs.has(c.name)) fail(table.name, c.name, 'column is declared twice');
      refs.set(c.name, new ColumnRef(table.name, c.name, c.type));
    };
    inherited.forEach(addRef);
    table.columns.forEach(addRef);
    const handle: TableHandleBase & Record<string, unknown> = {
      name: table.name,
      compute(colName, expr, opts = {}) {
        checkName('column', colName);
        if (RESERVED.has(colName)) fail(table.name, colName, `"${colName}" is reserved`);
        if (!(expr instanceof Expr)) fail(table.name, colName, 'compute() needs an expression (a UDF call or a column)');
        let type = expr.type.nullable();
        if (opts.destination) type = type.destination(opts.destination);
        const col: ColumnDef = { name: colName, type, computed: { expr, onError: opts.onError ?? 'ignore' } };
        for (const [id, udf] of expr.udfs) def.udfs.set(id, udf);
        table.columns.push(col);
        addRef(col);
        const ref = refs.get(colName)!;
        (handle as Record<string, unknown>)[colName] = ref;
        return ref as never;
      },
      col(colName) {
        const ref = refs.get(colName);
        if (!ref) return fail(table.name, colName, 'unknown column');
        return ref;
      },
    };
    for (const [n, r] of refs) handle[n] = r;
    return handle;
  };

  const tablesByName = new Map<string, { def: TableDef; allColumns: () => InheritedColumn[] }>();
  const owned = (table: TableDef) => table.columns.map((c) => ({ ...c, owner: { table: table.name, column: c.name } }));
  const builder: PipelineBuilder = {
    table(tableName, schema) {
      checkName('table', tableName);
      if (tablesByName.has(tableName)) fail(tableName, undefined, 'declared twice');
      const columns: ColumnDef[] = Object.entries(schema).map(([colName, type]) => {
        checkName('column', colName);
        if (RESERVED.has(colName)) fail(tableName, colName, `"${colName}" is reserved`);
        if (!(type instanceof ColumnType)) fail(tableName, colName, 'not a column type (use t.string(), t.int(), ...)');
        return { name: colName, type };
      });
      if (!columns.some((c) => c.type.spec.primaryKey)) fail(tableName, undefined, 'needs a primary key (t.string().primaryKey())');
      const table: TableDef = { name: tableName, kind: 'table', columns };
      def.tables.push(table);
      tablesByName.set(tableName, { def: table, allColumns: () => owned(table) });
      return handleFor(table, []) as never;
    },
    view(viewName, base, iterator, viewOpts = {}) {
      checkName('view', viewName);
      if (tablesByName.has(viewName)) fail(viewName, undefined, 'declared twice');
      const baseEntry = tablesByName.get(base.name);
      if (!baseEntry) return fail(viewName, undefined, `base table ${base.name} is not part of this pipeline`);
      const inputCol = iterator.input.node;
      if (inputCol.op !== 'column' || inputCol.table !== base.name) {
        fail(viewName, undefined, `iterator ${iterator.def.name} must take a column of ${base.name}`);
      }
      try {
        iterator.def.validate(iterator.params);
      } catch (e) {
        fail(viewName, undefined, `iterator ${iterator.def.name}: ${(e as Error).message}`);
      }
      const inputType = iterator.input.type.spec.kind;
      if (!iterator.def.accepts.includes(inputType)) {
        fail(viewName, undefined, `iterator ${iterator.def.name} accepts ${iterator.def.accepts.join(' or ')} columns, not ${inputType}`);
      }
      const outputs = iterator.def.outputs(iterator.params);
      const columns: ColumnDef[] = [
        { name: 'pos', type: t.int(), position: true },
        ...Object.entries(outputs).map(([n, type]) => ({
          name: n,
          type: viewOpts.destination && isMediaKind(type.spec.kind) ? type.destination(viewOpts.destination) : type,
        })),
      ];
      const own = new Set(columns.map((c) => c.name));
      const inherited = baseEntry.allColumns().map((c) => {
        if (!own.has(c.name)) return c;
        // the view's own column of that name wins; the base's stays readable under its owner's name
        const renamed = `${c.owner.table}_${c.owner.column}`;
        if (own.has(renamed) || baseEntry.allColumns().some((o) => o.name === renamed))
          fail(viewName, c.name, `iterator output ${c.name} hides ${c.owner.table}.${c.owner.column}, and ${renamed} is taken too`);
        return { ...c, name: renamed };
      });
      const view: TableDef = { name: viewName, kind: 'view', base: base.name, iterator, columns, inherited };
      def.tables.push(view);
      tablesByName.set(viewName, { def: view, allColumns: () => [...inherited, ...owned(view)] });
      return handleFor(view, inherited) as never;
    },
    export(source, sink, opts = {}) {
      const entry = tablesByName.get(source.name);
      if (!entry) return fail(source.name, undefined, 'export source is not part of this pipeline');
      const all = entry.allColumns().map((c) => c.name);
      // a view's rows are named by the base's key and the position at every level (chunks_pos, pos)
      const key =
        opts.key ??
        entry
          .allColumns()
          .filter((c) => c.type.spec.primaryKey || c.position)
          .map((c) => c.name);
      const columns = opts.columns ?? all;
      for (const c of [...key, ...columns]) if (!all.includes(c)) fail(source.name, c, `export to ${sink.name}: unknown column`);
      const ex: ExportDef = { source: source.name, sink, key, columns: [...new Set([...key, ...columns])], propagateDeletes: opts.propagateDeletes ?? true };
      def.exports.push(ex);
    },
    source(sourceName, table, reader, opts = {}) {
      const failSource = (problem: string): never => fail(table.name, undefined, `source ${sourceName}: ${problem}`);
      if (def.sources!.some((s) => s.name === sourceName)) failSource('declared twice');
      def.sources!.push(defineSource(sourceName, tablesByName.get(table.name)?.def, reader, opts, failSource));
    },
  };
  build(builder);
  return def;
}
