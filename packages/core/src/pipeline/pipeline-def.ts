import type { ColumnType } from '../types/column-type';
import type { Expr } from '../expr/expr';
import type { Udf } from '../udf/udf';
import type { IteratorCall } from '../iterator/iterator';
import type { ExportSink } from '../export/sink';
import type { SourceDef } from '../source/source-def';

export type OnError = 'abort' | 'ignore';

export interface ComputedSpec {
  expr: Expr;
  onError: OnError;
}

export interface ColumnDef {
  name: string;
  type: ColumnType;
  computed?: ComputedSpec;
  /** a view's `pos` */
  position?: boolean;
}

/**
 * A column a view reads from its base (or the base's base...). When the view has a column of the
 * same name (its own `pos`, an output called `text`), the inherited one is renamed
 * `<owner table>_<column>`: a view of chunks sees the chunk's position as `chunks_pos`.
 */
export interface InheritedColumn extends ColumnDef {
  /** the table that holds it, and its name there */
  owner: { table: string; column: string };
}

export interface TableDef {
  name: string;
  kind: 'table' | 'view';
  /** views: the table they iterate over */
  base?: string;
  iterator?: IteratorCall;
  /** in declaration order; for views: inherited base columns are not listed here */
  columns: ColumnDef[];
  /** views: the columns read from the base chain, under the names the view sees */
  inherited?: InheritedColumn[];
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
  /** scheduled backfills feeding its tables (absent in definitions built by hand) */
  sources?: SourceDef[];
  /** every UDF the pipeline's expressions use, by `name@version` */
  udfs: Map<string, Udf>;
}
