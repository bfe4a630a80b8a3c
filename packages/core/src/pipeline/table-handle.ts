import type { ColumnType, Kind } from '../types/column-type';
import type { ColumnRef, Expr } from '../expr/expr';
import type { OnError } from './pipeline-def';
import type { TableRows } from './row-types';

/** A table's declared columns: `{ id: t.string().primaryKey(), body: t.string() }`. */
export type Schema = Record<string, ColumnType>;

/** A column reference for each column of a schema, typed as the column. */
export type Refs<S extends Schema> = {
  [C in keyof S]: S[C] extends ColumnType<infer K, infer T, any> ? ColumnRef<K, T> : never;
};

/**
 * What TypeScript knows of a table or view as the pipeline declares it; a type only, nothing of it
 * exists at run time. Each `compute` and each view makes a new shape, so a handle's properties are
 * exactly the columns declared so far.
 */
export interface TableShape {
  name: string;
  kind: 'table' | 'view';
  /** every column it shows, by name: declared, computed, an iterator's outputs and `pos`, inherited */
  columns: Record<string, ColumnRef<any, any>>;
  /** the name each column takes in a view whose own column of that name hides it: `<owner table>_<column>` */
  hiddenAs: Record<string, string>;
  /** the columns a write carries: a table's declared columns (a view is not written) */
  writes: Schema;
}

export interface ComputeOptions {
  onError?: OnError;
  /** media columns: where generated media is written */
  destination?: string;
}

/** Names a column may not take: members of a handle, and the view's position. */
export type ReservedName = 'compute' | 'col' | 'name' | 'pos';

/** `N` when it is free in shape `S`; else a message naming the problem, which no name is (so the call does not compile). */
type FreeName<S extends TableShape, N extends string> = N extends ReservedName
  ? `${N} is a reserved name`
  : N extends keyof S['columns']
    ? `${S['name']} has a column ${N} already`
    : N;

/** The members of every handle; the columns are its other properties. */
export interface TableMembers<S extends TableShape> {
  readonly name: S['name'];
  /**
   * Add a computed column; returns the table with that column as a typed property, so columns
   * chain: `.compute('summary', (a) => summarize(a.body)).compute('size', (a) => length(a.summary))`.
   * The expression may be given as a function of the table (needed in a chain) or directly.
   */
  compute<N extends string, K extends Kind, T>(
    name: FreeName<S, N>,
    expr: Expr<K, T> | ((table: TableHandle<S>) => Expr<K, T>),
    opts?: ComputeOptions,
  ): TableHandle<WithComputed<S, N, K, T>>;
  /** A column by name, typed as its property is (also the base columns a view's own columns hide: `col('docs_pos')`). */
  col<N extends keyof S['columns'] & string>(name: N): S['columns'][N];
  /** the pipeline the table belongs to (what a typed client writes to) */
  readonly '~pipeline': string;
  /**
   * Types only, never set: the shape (invariant, so that a table before and after a `compute` keeps
   * two types, and a handle that may be either is their union), and the rows typed clients use.
   */
  readonly '~shape'?: (shape: S) => S;
  readonly '~rows'?: TableRows<S>;
}

/** A table or view of a pipeline being declared: its members and its columns. */
export type TableHandle<S extends TableShape = TableShape> = TableMembers<S> & S['columns'];

/** Any table or view handle, as `view`, `export`, `source` and the typed clients take it. */
export interface AnyTableHandle {
  readonly name: string;
  readonly '~pipeline': string;
  readonly '~shape'?: (shape: never) => TableShape;
}

/** The shape of a handle (any shape for an untyped one). */
export type ShapeOf<H> = 0 extends 1 & H
  ? TableShape
  : H extends { readonly '~shape'?: (shape: never) => infer S }
    ? S extends TableShape
      ? S
      : never
    : never;

/** Column names of a handle (of any of them, for a handle that is one of several tables: `a | b`). */
export type ColumnName<H> = H extends unknown ? keyof ShapeOf<H>['columns'] & string : never;

/** An object type written out flat (as hovers and messages show it). */
export type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** A table as `p.table(name, schema)` declares it. */
export type TableShapeOf<N extends string, S extends Schema> = {
  name: N;
  kind: 'table';
  columns: Refs<S>;
  hiddenAs: { [C in keyof S & string]: `${N}_${C}` };
  writes: S;
};

/** `S` with computed column `N` (nullable: a cell is null until computed, or when it failed). */
export type WithComputed<S extends TableShape, N extends string, K extends Kind, T> = {
  name: S['name'];
  kind: S['kind'];
  columns: Simplify<S['columns'] & { [C in N]: ColumnRef<K, T | null> }>;
  hiddenAs: Simplify<S['hiddenAs'] & { [C in N]: `${S['name']}_${N}` }>;
  writes: S['writes'];
};

/** A view's own columns: the iterator's outputs and `pos`. */
type OwnColumns<O extends Schema> = Refs<O> & { pos: ColumnRef<'int', number> };

/** A base column's name in the view: its own name, or `<owner>_<name>` when a view column hides it. */
type InViewAs<B extends TableShape, O extends Schema, C> = C extends keyof O | 'pos' ? (C extends keyof B['hiddenAs'] ? B['hiddenAs'][C] : never) : C;

/**
 * A view named `N` over base shape `B` with iterator outputs `O`: every base column (computed ones
 * too, inherited through views of views), the outputs, `pos`. A base column an output hides is
 * renamed as the runtime renames it (see `InheritedColumn`).
 */
export type ViewShapeOf<N extends string, B extends TableShape, O extends Schema> = {
  name: N;
  kind: 'view';
  columns: Simplify<{ [C in keyof B['columns'] as InViewAs<B, O, C>]: B['columns'][C] } & OwnColumns<O>>;
  hiddenAs: Simplify<
    { [C in keyof B['columns'] as InViewAs<B, O, C>]: C extends keyof B['hiddenAs'] ? B['hiddenAs'][C] : never } & {
      [C in (keyof O & string) | 'pos']: `${N}_${C}`;
    }
  >;
  writes: {};
};
