import { checkName } from '../names';
import type { TableDef } from '../pipeline/pipeline-def';
import { parseSchedule, type ScheduleInput } from './schedule';
import type { SourceDef, SourceReader } from './source-def';

export interface SourceOptions<Item, Row> {
  /** runs by itself on this schedule (one run per tick across the fleet); without it, only `tessera backfill` runs it */
  schedule?: ScheduleInput;
  /** an item (a file, or a row of the query or of a file read as rows) to a row of the table; null skips it */
  map?: (item: Item) => Row | null | Promise<Row | null>;
  /** listing sources: delete the rows of files that have gone (default false) */
  deletes?: boolean;
  /** files or rows per committed page (default 500) */
  pageSize?: number;
}

const isReader = (r: unknown): r is SourceReader =>
  !!r && typeof r === 'object' && ((r as SourceReader).kind === 'listing' || (r as SourceReader).kind === 'query');

/** Check a source declaration against the table it feeds; `fail` names the pipeline, table and problem. */
export function defineSource<Item, Row>(
  name: string,
  table: TableDef | undefined,
  reader: SourceReader<Item>,
  opts: SourceOptions<Item, Row>,
  fail: (problem: string) => never,
): SourceDef {
  checkName('table', name); // source names share the rules of table names (they name schedulers and queues' jobs)
  if (!table) return fail('feeds a table that is not part of this pipeline');
  if (table.kind === 'view') return fail(`feeds ${table.name}, a view: its rows come from its iterator; feed its base table`);
  if (!isReader(reader)) return fail('needs a reader: folder(...), objects(...) or sqlQuery(...) from @tessera/connectors');
  if (reader.kind === 'listing' && reader.rows) {
    if (opts.map) fail('reads files as rows, which are typed for the table as imports are; map is not supported there');
    if (opts.deletes) fail('reads files as rows: deletes are not supported there (a file does not name its rows)');
  }
  if (reader.kind === 'listing' && !reader.rows && !opts.map) fail('lists files: give map(file) => row, e.g. ({ key, url }) => ({ id: key, doc: url })');
  if (reader.kind === 'query' && opts.deletes)
    fail('SQL sources delete rows by their deleted column (sqlQuery({ deleted: "deleted_at" })), not the deletes option');
  const pageSize = opts.pageSize ?? 500;
  if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100_000) fail(`pageSize must be an integer from 1 to 100000, got ${pageSize}`);
  let schedule;
  try {
    schedule = opts.schedule ? parseSchedule(opts.schedule) : undefined;
  } catch (e) {
    return fail((e as Error).message);
  }
  return {
    name,
    table: table.name,
    reader,
    ...(schedule ? { schedule } : {}),
    ...(opts.map ? { map: opts.map as SourceDef['map'] } : {}),
    deletes: !!opts.deletes,
    pageSize,
  };
}
