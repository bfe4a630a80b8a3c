import type { ColumnType } from '../types/column-type';
import type { Expr } from '../expr/expr';
import type { Udf } from '../udf/udf';
import type { IteratorCall } from '../iterator/iterator';
import type { ExportSink } from '../export/sink';

export type OnError = 'abort' | 'ignore';

export interface ComputedSpec {
  expr: Expr;
  onError: OnError;
}

export interface ColumnDef {
  name: string;
  type: ColumnType;
  computed?: ComputedSpec;
}

export interface TableDef {
  name: string;
  kind: 'table' | 'view';
  /** views: the table they iterate over */
  base?: string;
  iterator?: IteratorCall;
  /** in declaration order; for views: inherited base columns are not listed here */
  columns: ColumnDef[];
}

export interface ExportDef {
  source: string;
  sink: ExportSink;
  columns: string[];
  key: string[];
  /** delete exported rows when their source rows are deleted */
  propagateDeletes: boolean;
}

/** A pipeline as declared in code. `apply` turns it into catalog state. */
export interface PipelineDef {
  name: string;
  tables: TableDef[];
  exports: ExportDef[];
  /** every UDF the pipeline's expressions use, by `name@version` */
  udfs: Map<string, Udf>;
}
