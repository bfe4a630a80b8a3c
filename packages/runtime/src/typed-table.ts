import type { AnyTableHandle, TableRows } from '@tessera/core';
import type { Row, SelectOptions, WriteOptions } from '@tessera/store';
import type { Engine } from './engine';

type RowsOf<H> = NonNullable<H extends { readonly '~rows'?: infer R extends TableRows<any> } ? R : never>;

/** Select options whose column names are the table's: a misspelled one does not compile. */
export interface TypedSelectOptions<S, C extends keyof S> extends Omit<SelectOptions, 'columns' | 'where' | 'orderBy'> {
  columns?: readonly C[];
  /** equality filters on columns */
  where?: { [K in keyof S]?: S[K] };
  orderBy?: readonly (keyof S & string)[];
}

/** With `withErrors`, a computed column's error type and message come along (null for the others' rows). */
type ErrorCells<C extends string> = { [K in C as `${K}_errortype` | `${K}_errormsg`]?: string | null };

/** A view's rows come from its iterator: a view is read, never written. */
export interface ViewClient<R extends TableRows<any>> {
  readonly pipeline: string;
  readonly table: string;
  /** rows as of the latest (or `asOf`) version; `columns` narrows the row type */
  select<C extends keyof R['select'] & string = keyof R['select'] & string, E extends boolean = false>(
    opts?: TypedSelectOptions<R['select'], C> & { withErrors?: E },
  ): Promise<Array<Pick<R['select'], C> & (E extends true ? ErrorCells<C> : {})>>;
}

/** A table of a pipeline, typed by its declaration: rows are checked by TypeScript before they are sent. */
export interface TableClient<R extends TableRows<any>> extends ViewClient<R> {
  insert(rows: R['insert'][], opts?: WriteOptions): ReturnType<Engine['insert']>;
  /** rows carry the key and the columns to change */
  update(rows: R['update'][], opts?: WriteOptions): ReturnType<Engine['update']>;
  /** rows whose key is new are inserted (they need every required column), the others updated */
  upsert(rows: R['update'][], opts?: WriteOptions): ReturnType<Engine['upsert']>;
  /** rows carry the key */
  delete(keys: R['key'][], opts?: WriteOptions): ReturnType<Engine['delete']>;
}

/** `engine.table(handle)`: a table's typed client, or a view's (select only). */
export type TypedTable<H> = RowsOf<H>['kind'] extends 'view' ? ViewClient<RowsOf<H>> : TableClient<RowsOf<H>>;

/**
 * The typed client of a table handle: the same calls as the engine's string API (which the CLI and
 * the ingest worker use), with rows typed by the pipeline's declaration.
 */
export function typedTable<H extends AnyTableHandle>(engine: Engine, handle: H): TypedTable<H> {
  const pipeline = handle['~pipeline'];
  const table = handle.name;
  const client: TableClient<{ kind: 'table'; insert: Row; update: Row; key: Row; select: Row }> = {
    pipeline,
    table,
    insert: (rows, opts) => engine.insert(pipeline, table, rows, opts),
    update: (rows, opts) => engine.update(pipeline, table, rows, opts),
    upsert: (rows, opts) => engine.upsert(pipeline, table, rows, opts),
    delete: (keys, opts) => engine.delete(pipeline, table, keys, opts),
    // rows as the store reads them; their type (the columns asked for) is the signature's
    select: ({ columns, orderBy, ...opts } = {}) =>
      engine.store.select(pipeline, table, {
        ...opts,
        ...(columns ? { columns: [...columns] } : {}),
        ...(orderBy ? { orderBy: [...orderBy] } : {}),
      }) as Promise<never>,
  };
  // the rows' types are the handle's; at run time they are the rows the string API takes
  return client as unknown as TypedTable<H>;
}
