import type { SendOptions, SendResult } from './client';

type Row = Record<string, unknown>;

/**
 * What the client needs of a table handle that `definePipeline` (in @tessera/core) returned: where
 * the table is, and, as types only, its rows. Structural, so the client does not depend on core.
 */
export interface TableRef {
  readonly name: string;
  readonly '~pipeline': string;
  readonly '~rows'?: { kind: 'table' | 'view'; insert: Row; update: Row; key: Row };
}

type RowsOf<H> = NonNullable<H extends { readonly '~rows'?: infer R } ? R : never>;

/** A table's sends, rows typed by the pipeline's declaration. */
export interface TableSender<H extends TableRef> {
  readonly pipeline: string;
  readonly table: string;
  insert(rows: RowsOf<H>['insert'][], opts?: SendOptions): Promise<SendResult>;
  /** rows carry the key and the columns to change */
  update(rows: RowsOf<H>['update'][], opts?: SendOptions): Promise<SendResult>;
  /** rows whose key is new are inserted (they need every required column), the others updated */
  upsert(rows: RowsOf<H>['update'][], opts?: SendOptions): Promise<SendResult>;
  /** rows carry the key */
  delete(keys: RowsOf<H>['key'][], opts?: SendOptions): Promise<SendResult>;
}

/** Handles of tables, not views: a view's rows come from its iterator. */
export type WritableRef = TableRef & { readonly '~rows'?: { kind: 'table' } };
