import { ColumnType, isMediaKind, t } from '../types/column-type';
import { ColumnRef, Expr } from '../expr/expr';
import type { IteratorCall } from '../iterator/iterator';
import type { ExportSink } from '../export/sink';
import { checkName, checkPipelineName } from '../names';
import { PipelineDefinitionError } from '../errors';
import type { ColumnDef, ExportDef, InheritedColumn, PipelineDef, TableDef } from './pipeline-def';
import { defineSource, type SourceOptions } from '../source/define-source';
import type { SourceReader } from '../source/source-def';
import type { AnyTableHandle, ColumnName, ComputeOptions, Schema, ShapeOf, TableHandle, TableShapeOf, ViewShapeOf } from './table-handle';
import type { UpdateRow } from './row-types';

/** Members of a table handle; a column may not take one of these names. */
const RESERVED = new Set(['compute', 'col', 'name', 'pos']);

export interface ViewOptions {
  /** where the iterator's generated media (frames, segments, tiles) is written; the project default otherwise */
  destination?: string;
}

export interface ExportOptions<H> {
  /** the columns shipped (the key is always shipped); all by default */
  columns?: readonly ColumnName<H>[];
  /** the target's key; default: the primary key (and, for a view, each level's `pos`) */
  key?: readonly ColumnName<H>[];
  /** delete exported rows when their source rows are deleted (default true) */
  propagateDeletes?: boolean;
}

export interface PipelineBuilder {
  table<N extends string, S extends Schema>(name: N, schema: S): TableHandle<TableShapeOf<N, S>>;
  /**
   * A view: one row per output of the iterator over a column of `base`. It has the base's columns
   * (computed ones too; a view's own column wins over a same-named base column, which stays readable
   * as `<owner>_<name>`, e.g. `chunks_pos`), the iterator's outputs, and `pos`.
   */
  view<N extends string, B extends AnyTableHandle, O extends Schema>(
    name: N,
    base: B,
    iterator: IteratorCall<any, O>,
    opts?: ViewOptions,
  ): TableHandle<ViewShapeOf<N, ShapeOf<B>, O>>;
  export<H extends AnyTableHandle>(source: H, sink: ExportSink, opts?: ExportOptions<H>): void;
  /**
   * A source feeding `table` (scheduled backfills): a folder, a bucket prefix or a SQL query with a
   * watermark, mapped item by item to the table's columns (typed by the table: the key, and any of
   * its declared columns), written by primary key.
   */
  source<H extends AnyTableHandle, Item>(name: string, table: H, reader: SourceReader<Item>, opts?: SourceOptions<Item, UpdateRow<ShapeOf<H>['writes']>>): void;
}

/** What a pipeline's build function may return: its tables and views, by the names the app uses. */
export type PipelineHandles = Record<string, AnyTableHandle> & { [K in keyof PipelineDef]?: never };

/**
 * A pipeline as `definePipeline` returns it: the definition, and the handles its build function
 * returned as properties (`pipeline.docs`), for the typed clients: `engine.table(pipeline.docs)`.
 */
export type Pipeline<H extends PipelineHandles = {}> = PipelineDef & Readonly<H>;

const isHandle = (v: unknown): v is AnyTableHandle => !!v && typeof v === 'object' && '~pipeline' in v;

/**
 * Declare a pipeline: tables, computed columns, views and exports. The build function may return
 * its tables and views (`return { docs, chunks }`): they become typed properties of the result.
 */
export function definePipeline<H extends PipelineHandles | AnyTableHandle | void = void>(
  name: string,
  build: (p: PipelineBuilder) => H,
): Pipeline<H extends PipelineHandles ? H : {}> {
  checkPipelineName(name);
  const def: PipelineDef = { name, tables: [], exports: [], sources: [], udfs: new Map() };
  const fail = (table: string, column: string | undefined, problem: string): never => {
    throw new PipelineDefinitionError({ pipeline: name, table, ...(column ? { column } : {}) }, problem);
  };

  const handleFor = (table: TableDef, inherited: ColumnDef[]): TableHandle => {
    const refs = new Map<string, ColumnRef>();
    const addRef = (c: ColumnDef) => {
      if (refs.has(c.name)) fail(table.name, c.name, 'column is declared twice');
      refs.set(c.name, new ColumnRef(table.name, c.name, c.type));
    };
    inherited.forEach(addRef);
    table.columns.forEach(addRef);
    // one object per table: compute adds the column to it and returns it, typed with the new column
    const handle: Record<string, unknown> = {
      name: table.name,
      compute(colName: string, exprOrFn: unknown, opts: ComputeOptions = {}) {
        checkName('column', colName);
        if (RESERVED.has(colName)) fail(table.name, colName, `"${colName}" is reserved`);
        // a function of the table (a chain); a UDF itself is a function too, but not one of the table
        const expr = typeof exprOrFn === 'function' && !('spec' in exprOrFn) ? exprOrFn(handle) : exprOrFn;
        if (!(expr instanceof Expr)) return fail(table.name, colName, 'compute() needs an expression (a UDF call or a column)');
        let type = expr.type.nullable();
        if (opts.destination) type = type.destination(opts.destination);
        const col: ColumnDef = { name: colName, type, computed: { expr, onError: opts.onError ?? 'ignore' } };
        for (const [id, udf] of expr.udfs) def.udfs.set(id, udf);
        table.columns.push(col);
        addRef(col);
        handle[colName] = refs.get(colName);
        return handle;
      },
      col(colName: string) {
        const ref = refs.get(colName);
        if (!ref) return fail(table.name, colName, 'unknown column');
        return ref;
      },
    };
    // not enumerable: a handle's keys stay its members and columns
    Object.defineProperty(handle, '~pipeline', { value: name });
    for (const [n, r] of refs) handle[n] = r;
    return handle as unknown as TableHandle;
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
      const key: string[] = opts.key
        ? [...opts.key]
        : entry
            .allColumns()
            .filter((c) => c.type.spec.primaryKey || c.position)
            .map((c) => c.name);
      const columns: readonly string[] = opts.columns ?? all;
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
  const handles = build(builder);
  // a build function written as an expression may return a single handle: that is not a set of them
  if (handles && typeof handles === 'object' && !isHandle(handles)) {
    for (const [key, h] of Object.entries(handles)) {
      const problem =
        key in def
          ? `the build function returned "${key}", which names a member of the pipeline definition; return it under another name`
          : !isHandle(h) || h['~pipeline'] !== name || !tablesByName.has(h.name)
            ? `the build function returned "${key}", which is not a table or view of this pipeline`
            : undefined;
      if (problem) throw new PipelineDefinitionError({ pipeline: name }, problem);
      // not enumerable: the definition's keys stay what they were (tools walk them)
      Object.defineProperty(def, key, { value: h });
    }
  }
  return def as Pipeline<H extends PipelineHandles ? H : {}>;
}
