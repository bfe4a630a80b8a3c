import { UnrecoverableError } from 'bullmq';
import { codeOf, evaluate, type JobStop, type Outcome, type UdfContext, type Udf } from '@tessera/core';
import type { Store, CatalogTable, BatchRow, CellResult, CellWrite } from '@tessera/store';
import type { StageJob } from '../jobs/payloads';
import type { PipelineRegistry } from '../registry';
import { writeCellsIsolated } from './write-cells';
import { BATCH_DEATHS_BEFORE_ALONE, DEATHS_BEFORE_REFUSAL, workerDiedError, type CrashRecords } from './crash-records';

export interface StageResult {
  rows: number;
  computed: number;
  failed: number;
  skipped?: string;
  /** rows left when the job used up its time slice: it goes back to its queue for them */
  remaining?: number;
  /** cells written per column (for metrics) */
  columns?: Record<string, { computed: number; failed: number }>;
}

export interface StageDeps {
  store: Store;
  /** the job's last attempt: a row whose media cannot be read fails its own cell (see EvalEnv.lastAttempt) */
  lastAttempt?: boolean;
  registry: PipelineRegistry;
  /** context handed to UDFs (media access, rate gate, usage counters) */
  context: (table: CatalogTable, column: string) => UdfContext;
  /** UDF calls in flight per job */
  concurrency?: number;
  /** evaluate this many rows at a time, writing cells back between them (all at the end when absent) */
  writeBackRows?: number;
  /**
   * write back no more often than this: cheap columns finish a whole batch in milliseconds and
   * write it in one statement, slow ones (model calls) write every slice (0: every slice)
   */
  writeBackMs?: number;
  /** stop between slices after this long, leaving the rest for the job's next run */
  sliceMs?: number;
  /** read the batch's rows a part at a time, each holding at most this many bytes of text, JSON and arrays (see Cells.boundedBatch) */
  maxBatchBytes?: number;
  /** a UDF call's deadline (see EvalEnv.udfTimeoutMs) */
  udfTimeoutMs?: number;
  /**
   * Aborted when the job is no longer this worker's (its lock lapsed under load and another worker
   * took it, or Redis lost it and a reconcile enqueued the rows again): no further model call is
   * made, the answers in flight are written, and the job ends (see JobLostError).
   */
  signal?: AbortSignal;
  /** what the fleet knows of rows in flight when a worker process died (see CrashRecords) */
  crashes?: CrashRecords;
  /** the job stalled before: its worker may have died on one of its rows */
  stalledBefore?: boolean;
}

/** The job stopped because it is no longer this worker's: whoever holds its rows now computes them. */
export class JobLostError extends Error {
  override readonly name = 'JobLostError';
}

/** How many cells a stopped stage job had written before its job-level error (see runStage). */
export const cellsWrittenBefore = (e: unknown): number => Number((e as { cellsWritten?: number } | null)?.cellsWritten ?? 0);

/**
 * Compute one stage of one batch: load the rows whose cells are still pending, evaluate the stage's
 * columns in dependency order (batched UDF calls where the UDF allows), write values and errors.
 * Safe to run twice: it only computes pending cells and writes by (rowid, row version).
 */
export async function runStage(job: StageJob, deps: StageDeps): Promise<StageResult> {
  const { store, registry } = deps;
  const table = await store.table(job.pipeline, job.table);
  const aborted = await store.history.aborted(table, job.version);
  if (aborted) return { rows: 0, computed: 0, failed: 0, skipped: `version ${job.version} was aborted: ${aborted}` };

  const columns = job.columns.map((name) => {
    const col = table.columns.find((c) => c.name === name && c.computed);
    if (!col) throw new UnrecoverableError(`${job.pipeline}.${job.table} has no computed column ${name} (was it dropped?)`);
    return col;
  });
  const udfs = checkUdfVersions(job, columns, registry);

  // a batch brings the state of every computed input, a view's inherited ones included
  const read = (row: BatchRow, column: string): Outcome => {
    const state = row.cells[column];
    if (state === 'error') return { error: { type: 'UpstreamError', message: `input column ${column} failed` } };
    if (state === 'pending') return { pending: true };
    return { value: row.values[column] ?? null };
  };

  // model usage this job reports, kept per column for `tessera status`
  const usage = new Map<string, number>();
  const contextFor = (column: string): UdfContext => {
    const ctx = deps.context(table, column);
    return {
      ...ctx,
      ...(job.fresh ? { cacheMode: 'refresh' as const } : {}),
      usage: (counter, amount) => {
        usage.set(`${column}\0${counter}`, (usage.get(`${column}\0${counter}`) ?? 0) + amount);
        ctx.usage?.(counter, amount);
      },
    };
  };
  let computed = 0;
  let failed = 0;
  // per column, for the worker's metrics
  const byColumn: Record<string, { computed: number; failed: number }> = {};
  let abortMessage: string | null = null;
  // a job-level error (rate limit, transient failure) stops the job; what was computed is written first
  const stop: JobStop = {};
  const lost = () =>
    void (stop.error ??= new JobLostError(
      `${job.pipeline}.${job.table} rows ${job.lo}-${job.hi}: the job is no longer this worker's (${String(deps.signal?.reason ?? 'lock lost')})`,
    ));
  if (deps.signal?.aborted) lost();
  else deps.signal?.addEventListener('abort', lost, { once: true });
  // Cells are written back a slice of rows at a time, so a killed or failing job keeps what it
  // computed (paid model calls included) and its rerun loads only the rows still pending; a job
  // past its time slice stops between slices and goes back to its queue for the rest.
  const started = Date.now();
  const sliceRows = deps.writeBackRows ?? Number.POSITIVE_INFINITY;
  let remaining = 0;
  // outcomes computed but not written yet, and when cells were last written
  let unwritten: CellWrite[] = [];
  let writtenAt = started;
  const writeBack = async () => {
    await writeCellsIsolated(store, table, job.columns, unwritten);
    unwritten = [];
    writtenAt = Date.now();
    // usage is counted as calls happen, not when the job ends
    await store.cells.addUsage(
      table,
      [...usage].map(([k, amount]) => {
        const [column, counter] = k.split('\0') as [string, string];
        return { column, counter, amount };
      }),
    );
    usage.clear();
  };
  /** Evaluate one column over the rows of `part` whose cell is pending, its outcomes into `results` (or these outcomes instead). */
  const evaluateColumn = async (col: (typeof columns)[number], part: BatchRow[], results: CellWrite[], instead?: Outcome) => {
    const todo = pendingIn(part, col.name);
    if (!todo.length) return;
    const outcomes = instead
      ? todo.map(() => instead)
      : await evaluate(
          col.computed!.expr,
          todo.map((x) => x.r),
          {
            udfs,
            ctx: contextFor(col.name),
            read,
            concurrency: deps.concurrency ?? 16,
            stop,
            ...(deps.lastAttempt ? { lastAttempt: true } : {}),
            ...(deps.udfTimeoutMs ? { udfTimeoutMs: deps.udfTimeoutMs } : {}),
          },
        );
    const n = recordOutcomes(col.name, outcomes, todo, results);
    computed += n.computed;
    failed += n.failed;
    if (n.computed || n.failed) {
      const c = (byColumn[col.name] ??= { computed: 0, failed: 0 });
      c.computed += n.computed;
      c.failed += n.failed;
    }
    if (n.firstError && col.computed!.onError === 'abort' && !abortMessage) {
      const { rowid, error } = n.firstError;
      abortMessage = `column ${col.name} failed on row ${rowid}: ${error.type}: ${error.message}`;
    }
    // counted with the column whose job goes back to its queue to wait for the rate limiter
    if (stop.error && codeOf(stop.error) === 'E_RATE_LIMITED') usage.set(`${col.name}\0limiterRequeues`, 1);
  };
  /** Evaluate the stage's columns over `part`; its outcomes join `unwritten`. */
  const evaluatePart = async (part: BatchRow[]) => {
    const results = emptyResults(part);
    for (const col of columns) {
      await evaluateColumn(col, part, results);
      if (stop.error) break;
    }
    keepWithCells(results, unwritten);
  };
  /** Compute the rows of one part of the batch (see the loop below). */
  const computeRows = async (rows: BatchRow[]) => {
    // rows that were in flight when a worker process died (see CrashRecords)
    const { batched, alone, crashes } = await planAfterDeaths(job, table.id, rows, deps);
    for (let from = 0; from < batched.length; from += sliceRows) {
      if (from > 0 && Date.now() - started > (deps.sliceMs ?? Infinity)) {
        remaining += batched.length - from + alone.length;
        break;
      }
      const part = batched.slice(from, from + sliceRows);
      if (crashes) {
        // marked while they are computed: a death now leaves the marks (rows in flight at enough deaths are computed alone)
        const before = part.map((row): [string, number] => [crashes.rowField(row), crashes.known.get(crashes.rowField(row)) ?? 0]);
        await crashes.records.batch(async () => {
          await crashes.records.markBatch(
            table.id,
            before.map(([f, d]) => [f, d + 1]),
          );
          await evaluatePart(part).finally(() => {
            const finished = new Set(part.flatMap((row, k) => (job.columns.some((c) => row.cells[c] === 'pending') ? [] : [k])));
            return crashes.records.settleBatch(
              table.id,
              [...finished].map((k) => before[k]![0]),
              before.filter((_, k) => !finished.has(k)),
            );
          });
        });
      } else await evaluatePart(part);
      if (stop.error || abortMessage) break;
      if (Date.now() - writtenAt >= (deps.writeBackMs ?? 0)) await writeBack();
    }
    // Each alone, after the others (a death is blamed on this one row, and the batch's cells are
    // written already), a column at a time, each marked while it runs: a cell that killed its
    // process computed alone too often fails with WorkerDied (its dependents with UpstreamError),
    // and the row's other cells are computed.
    for (let k = 0; crashes && k < alone.length && !stop.error && !abortMessage; k++) {
      if (Date.now() - started > (deps.sliceMs ?? Infinity)) {
        remaining += alone.length - k;
        break;
      }
      if (unwritten.length) await writeBack();
      const row = alone[k]!;
      const results = emptyResults([row]);
      await crashes.records.alone(async () => {
        for (const col of columns) {
          if (row.cells[col.name] !== 'pending') continue;
          const field = crashes.cellField(row, col.name);
          if ((crashes.known.get(field) ?? 0) >= DEATHS_BEFORE_REFUSAL) {
            await evaluateColumn(col, [row], results, { error: workerDiedError(`column ${col.name} of row ${row.rowid}`) });
            crashes.refused.push(field);
            continue;
          }
          await crashes.records.computeMarked(
            table.id,
            field,
            () => evaluateColumn(col, [row], results),
            () => row.cells[col.name] !== 'pending',
          );
          if (stop.error) break;
        }
      });
      keepWithCells(results, unwritten);
      if (!stop.error) await crashes.records.clear(table.id, [crashes.rowField(row)]);
    }
    // the cells refused are written: their records are done with
    if (crashes?.refused.length) {
      if (unwritten.length) await writeBack();
      await crashes.records.clear(table.id, crashes.refused);
    }
  };
  // The batch is read a part at a time, each within the byte budget (a thousand rows of 1 MB
  // would hold a gigabyte), and each part's cells are written before the next is read.
  let rowsRead = 0;
  for (let lo: number | null = job.lo; lo !== null; ) {
    if (rowsRead && Date.now() - started > (deps.sliceMs ?? Infinity)) {
      remaining++;
      break;
    }
    const part = await store.cells.boundedBatch(
      table,
      job.columns,
      { lo, hi: job.hi, ...(job.vMin === undefined ? {} : { vMin: job.vMin }) },
      deps.maxBatchBytes ?? Infinity,
    );
    rowsRead += part.rows.length;
    if (part.rows.length) await computeRows(part.rows);
    if (remaining) remaining += part.next === null ? 0 : 1;
    if (remaining || stop.error || abortMessage) break;
    if (part.next !== null && unwritten.length) await writeBack();
    lo = part.next;
  }
  if (!rowsRead) return { rows: 0, computed: 0, failed: 0 };
  // the last slice's cells, or all of them for a job that stopped, finished or used up its time slice
  if (unwritten.length || usage.size) await writeBack();
  if (abortMessage) {
    await store.history.abort(table, job.version, abortMessage);
    throw new UnrecoverableError(`${job.pipeline}.${job.table} version ${job.version} aborted (onError: 'abort'): ${abortMessage}`);
  }
  // the rerun computes only the cells still pending; cells written tell the worker whether this
  // run made progress (a transient failure after progress does not spend an attempt)
  if (stop.error) throw Object.assign(stop.error, { cellsWritten: computed + failed });
  return { rows: rowsRead, computed, failed, columns: byColumn, ...(remaining ? { remaining } : {}) };
}

/** A stage's rows by how they are computed after worker deaths (see CrashRecords). */
interface DeathPlan {
  batched: BatchRow[];
  /** rows in flight in a batch at BATCH_DEATHS_BEFORE_ALONE deaths, or with a cell's death recorded: each computed alone */
  alone: BatchRow[];
  /** present when rows are marked while computed */
  crashes?: {
    records: CrashRecords;
    /** the records of this job's rows and cells */
    known: Map<string, number>;
    /** a row version of this stage: its mark while computed in a batch */
    rowField(row: BatchRow): string;
    /** a cell of a row version: its deaths while computed alone */
    cellField(row: BatchRow, column: string): string;
    /** cells refused (their records are cleared once they are written) */
    refused: string[];
  };
}

async function planAfterDeaths(job: StageJob, tableId: number, rows: BatchRow[], deps: StageDeps): Promise<DeathPlan> {
  const records = deps.crashes;
  const untouched = { batched: rows, alone: [] };
  if (!records) return untouched;
  // an update (a new row version) starts afresh
  const stage = job.columns.join(',');
  const rowField = (row: BatchRow) => `${stage}|${row.rowid}|${row.vMin}`;
  const cellField = (row: BatchRow, column: string) => `${column}|${row.rowid}|${row.vMin}`;
  const fieldsOf = (row: BatchRow) => [rowField(row), ...job.columns.map((c) => cellField(row, c))];
  const known = await records.read(tableId, rows.flatMap(fieldsOf));
  if (!known.size && !deps.stalledBefore) return untouched;
  const plan: DeathPlan = { batched: [], alone: [], crashes: { records, known, rowField, cellField, refused: [] } };
  const aloneNow = (row: BatchRow) => (known.get(rowField(row)) ?? 0) >= BATCH_DEATHS_BEFORE_ALONE || job.columns.some((c) => known.has(cellField(row, c)));
  for (const row of rows) (aloneNow(row) ? plan.alone : plan.batched).push(row);
  return plan;
}

// The per-row loops of a stage, kept out of the async runStage: V8 optimizes a function whose
// loops run hot, and these small sync ones compile in a fraction of the time (and recompile
// cheaply after a deopt) that the whole of runStage would.

function emptyResults(part: BatchRow[]): CellWrite[] {
  const results: CellWrite[] = new Array(part.length);
  for (let i = 0; i < part.length; i++) results[i] = { rowid: part[i]!.rowid, vMin: part[i]!.vMin, cells: {} as Record<string, CellResult> };
  return results;
}

/** The rows of `part` whose cell of `column` is pending, with their index in it. */
function pendingIn(part: BatchRow[], column: string): Array<{ r: BatchRow; i: number }> {
  const todo: Array<{ r: BatchRow; i: number }> = [];
  for (let i = 0; i < part.length; i++) if (part[i]!.cells[column] === 'pending') todo.push({ r: part[i]!, i });
  return todo;
}

/**
 * Put a column's outcomes into the results to write and into the rows (a later column reads
 * them); an outcome still pending (an input is not computed yet) is left for a later run.
 */
function recordOutcomes(
  column: string,
  outcomes: Outcome[],
  todo: Array<{ r: BatchRow; i: number }>,
  results: CellWrite[],
): { computed: number; failed: number; firstError?: { rowid: number; error: { type: string; message: string } } } {
  let computed = 0;
  let failed = 0;
  let firstError: { rowid: number; error: { type: string; message: string } } | undefined;
  for (let k = 0; k < outcomes.length; k++) {
    const o = outcomes[k]!;
    const { r, i } = todo[k]!;
    if ('pending' in o) continue;
    results[i]!.cells[column] = o;
    if ('error' in o) {
      failed++;
      r.cells[column] = 'error';
      firstError ??= { rowid: r.rowid, error: o.error };
    } else {
      computed++;
      r.values[column] = o.value;
      r.cells[column] = 'ok';
    }
  }
  return firstError ? { computed, failed, firstError } : { computed, failed };
}

/** Append the results that carry a cell to `unwritten`. */
function keepWithCells(results: CellWrite[], unwritten: CellWrite[]): void {
  for (const r of results) if (Object.keys(r.cells).length) unwritten.push(r);
}

/**
 * Fleet code skew guard: the catalog records which UDF versions a column was defined with; a worker
 * running different code refuses rather than computing a different answer.
 */
function checkUdfVersions(job: StageJob, columns: CatalogTable['columns'], registry: PipelineRegistry): ReadonlyMap<string, Udf> {
  const mine = registry.udfs(job.pipeline);
  for (const col of columns) {
    for (const id of col.computed!.udfs) {
      if (mine.has(id)) continue;
      const name = id.slice(0, id.lastIndexOf('@'));
      const have = [...mine.keys()].filter((k) => k.startsWith(`${name}@`));
      throw new UnrecoverableError(
        `UDF version skew: column ${job.table}.${col.name} was applied with ${id}, but this worker has ${have.join(', ') || `no ${name}`}; deploy the matching pipeline code, or apply the new code with --recompute`,
      );
    }
  }
  return mine;
}
