import type { ColumnType } from '../types/column-type';
import type { ColumnRef } from '../expr/expr';
import type { Schema, Simplify, TableShape } from './table-handle';

/**
 * The rows a typed client reads and writes, inferred from the pipeline's declaration: a misspelled
 * column or a value of the wrong type is a compile error rather than a failed write.
 */

/** A value a write may give a column: its type; a timestamp also as an ISO 8601 string or epoch ms, as writes accept. */
export type WriteValue<C> = C extends ColumnType<'timestamp', infer T, any> ? T | string | number : C extends ColumnType<any, infer T, any> ? T : never;

type KeyNames<W extends Schema> = { [C in keyof W]: W[C] extends ColumnType<any, any, 'key'> ? C : never }[keyof W];
type RequiredNames<W extends Schema> = { [C in keyof W]: W[C] extends ColumnType<any, any, 'key' | 'required'> ? C : never }[keyof W];

/** An inserted row: the key and every non-nullable column; nullable ones may be left out. */
export type InsertRow<W extends Schema> = Simplify<
  { [C in RequiredNames<W>]: WriteValue<W[C]> } & { [C in Exclude<keyof W, RequiredNames<W>>]?: WriteValue<W[C]> }
>;

/** An updated (or upserted) row: the key, and the columns to change. */
export type UpdateRow<W extends Schema> = Simplify<{ [C in KeyNames<W>]: WriteValue<W[C]> } & { [C in Exclude<keyof W, KeyNames<W>>]?: WriteValue<W[C]> }>;

/** A row's key, as deletes name rows. */
export type KeyRow<W extends Schema> = Simplify<{ [C in KeyNames<W>]: WriteValue<W[C]> }>;

/** A row as read: every column the table or view shows, computed ones null until computed (or failed). */
export type SelectRow<S extends TableShape> = Simplify<{ [C in keyof S['columns']]: S['columns'][C] extends ColumnRef<any, infer T> ? T : never }>;

/** The rows of a table or view, by use (what `TableMembers['~rows']` carries to the typed clients). */
export interface TableRows<S extends TableShape> {
  kind: S['kind'];
  insert: InsertRow<S['writes']>;
  update: UpdateRow<S['writes']>;
  key: KeyRow<S['writes']>;
  select: SelectRow<S>;
}
