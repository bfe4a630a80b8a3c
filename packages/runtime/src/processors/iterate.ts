import { UnrecoverableError } from 'bullmq';
import {
  categoryOf,
  isJobLevelError,
  typeFromSpec,
  validateValue,
  withDeadline,
  IteratorTimeoutError,
  type IteratorCall,
  type MediaContext,
} from '@tessera/core';
import { isDeepStrictEqual } from 'node:util';
import type { BatchRow, CatalogTable, IterationOutcome, Row, Store } from '@tessera/store';
import type { IterateJob, DerivedWork } from '../jobs/payloads';
import type { PipelineRegistry } from '../registry';
import { isDataError } from './write-cells';
import { DEATHS_BEFORE_REFUSAL, workerDiedError, type CrashRecords } from './crash-records';

export interface IterateDeps {
  store: Store;
  registry: PipelineRegistry;
  media: MediaContext;
  /** add jobs covering parts of this job's range to its queue (a range too big for one job) */
  split(parts: IterateJob[]): Promise<void>;
  /** start the job DAG of a view version this job wrote */
  enqueueView(table: string, version: number): Promise<void>;
  /** start view work (exports of retired rows) of views of the view */
  enqueueDerived(derived: DerivedWork[]): Promise<void>;
  signal?: AbortSignal;
  /** this is the job's last attempt: a row that fails for a transient reason gets an error cell rather than staying pending */
  lastAttempt?: boolean;
  /** what the fleet knows of rows in flight when a worker process died (see CrashRecords) */
  crashes?: CrashRecords;
  /** the job stalled before: its worker may have died on one of its rows */
  stalledBefore?: boolean;
  /** how long the iterator may go without yielding a row before the row's iteration fails (0 or absent: no deadline) */
  rowTimeoutMs?: number;
  /** read the batch's rows within this many bytes of text, JSON and arrays, splitting it into parts that are (see Cells.parts) */
  maxBatchBytes?: number;
}

export interface IterateResult {
  rows: number;
  /** base rows iterated, and of those, failed */
  computed: number;
  failed: number;
  viewRows: number;
  /** jobs this one was split into */
  split?: number;
  skipped?: string;
}

/**
 * Iterate one batch of base rows into a view. A range holding more pending rows than the
 * iterator's rows-per-job, or more than TESSERA_BATCH_BYTES of input, is split into jobs of that
 * size first, so a table of videos is shared by the fleet a video at a time, and one of large
 * documents a few megabytes at a time. Each base row is committed on its own (its view rows and its
 * iteration cell in one transaction), so a job killed midway resumes where it stopped, and one
 * corrupt file fails its own cell, nothing else. Then the view's DAG starts for the rows written.
 */
export async function runIterate(job: IterateJob, jobId: string, deps: IterateDeps): Promise<IterateResult> {
  const { store } = deps;
  const base = await store.table(job.pipeline, job.table);
  const column = base.columns.find((c) => c.name === job.column && c.computed?.iterate);
  if (!column) throw new UnrecoverableError(`${job.pipeline}.${job.table} has no view ${job.column} (was it removed?)`);
  const spec = column.computed!.iterate!;
  const call = checkIterator(job, spec, deps.registry);
  const aborted = await store.history.aborted(base, job.version);
  if (aborted) return { rows: 0, computed: 0, failed: 0, viewRows: 0, skipped: `version ${job.version} was aborted: ${aborted}` };

  // a batch of more rows than a job takes, or of large documents, is split before any row is read:
  // its parts are sized by Postgres, and each part's job reads its own rows (all parts at once, so
  // the fleet shares them and no job reads rows it hands on)
  const sel = { lo: job.lo, hi: job.hi, ...(job.vMin === undefined ? {} : { vMin: job.vMin }) };
  const maxBytes = deps.maxBatchBytes ?? Number.POSITIVE_INFINITY;
  const ranges = await store.cells.parts(base, [job.column], sel, { maxRows: spec.rowsPerJob, maxBytes });
  if (ranges.length > 1) {
    await deps.split(ranges.map((r) => ({ ...job, lo: r.lo, hi: r.hi })));
    return { rows: 0, computed: 0, failed: 0, viewRows: 0, split: ranges.length };
  }
  // still read within the budget: rows updated since they were sized may have grown
  const { rows, next } = await store.cells.boundedBatch(base, [job.column], sel, maxBytes);
  if (rows.length > spec.rowsPerJob || next !== null) {
    const parts: IterateJob[] = [];
    for (let i = 0; i < rows.length; i += spec.rowsPerJob) {
      const part = rows.slice(i, i + spec.rowsPerJob);
      parts.push({ ...job, lo: part[0]!.rowid, hi: part[part.length - 1]!.rowid });
    }
    // the rows the budget left out, read by a job of their own
    if (next !== null) parts.push({ ...job, lo: next });
    await deps.split(parts);
    return { rows: rows.length, computed: 0, failed: 0, viewRows: 0, split: parts.length };
  }

  const view = await store.table(job.pipeline, spec.view);
  const work = { requestId: `iterate:${jobId}`, detail: `rows of ${job.table} v${job.version}, rowids ${job.lo}..${job.hi}` };
  const input = columnOf(column.computed!.expr);
  const result: IterateResult = { rows: rows.length, computed: 0, failed: 0, viewRows: 0 };
  const derived: DerivedWork[] = [];
  // a row that fails for a transient reason does not hold back the others: the job retries it after
  let retry: Error | undefined;
  const guard = await deathGuard(job, base.id, rows, deps);
  for (const row of rows) {
    let outcome: IterationOutcome | undefined;
    try {
      outcome = guard ? await guard.iterate(row, () => iterateRow(row, input, call, view, deps)) : await iterateRow(row, input, call, view, deps);
    } catch (e) {
      if (!isJobLevelError(e)) throw e;
      if (!deps.lastAttempt) {
        retry ??= e;
        continue;
      }
      outcome = { error: { type: e.name, message: `failed on the job's last attempt: ${e.message}` } };
    }
    if (!outcome) continue; // the input is not computed yet: its own job will come back here
    let commit: Awaited<ReturnType<Store['cells']['commitIteration']>>;
    try {
      commit = await store.cells.commitIteration(base, view.name, row, outcome, work);
    } catch (e) {
      if (!isDataError(e)) throw e;
      // Postgres refused a value of this row's view rows: this row fails, the others go on
      outcome = { error: { type: 'StoreError', message: `view rows of ${view.name} could not be stored: ${(e as Error).message}` } };
      commit = await store.cells.commitIteration(base, view.name, row, outcome, work);
    }
    if (guard?.refused(row)) await guard.forget(row);
    if (!commit.committed) continue;
    if ('error' in outcome) result.failed++;
    else result.computed++;
    result.viewRows += commit.inserted;
    derived.push(...commit.derived);
  }
  // the view's version may hold rows an earlier attempt of this job wrote: start its DAG either way
  const version = await store.history.byRequest(view, work.requestId);
  if (version !== null) await deps.enqueueView(view.name, version);
  if (derived.length) await deps.enqueueDerived(derived);
  if (retry) throw retry;
  return result;
}

/**
 * After a worker death (the job stalled before, or the table has records, see CrashRecords): each
 * row is iterated alone in its process, marked while it runs, and one that killed its process
 * DEATHS_BEFORE_REFUSAL times fails its cell with WorkerDied. Undefined when nothing is to be guarded.
 */
async function deathGuard(job: IterateJob, tableId: number, rows: BatchRow[], deps: IterateDeps) {
  const records = deps.crashes;
  if (!records) return undefined;
  const field = (row: BatchRow) => `iterate:${job.column}|${row.rowid}|${row.vMin}`;
  const known = await records.read(tableId, rows.map(field));
  if (!known.size && !deps.stalledBefore) return undefined;
  const refused = (row: BatchRow) => (known.get(field(row)) ?? 0) >= DEATHS_BEFORE_REFUSAL;
  return {
    refused,
    forget: (row: BatchRow) => records.clear(tableId, [field(row)]),
    iterate(row: BatchRow, run: () => Promise<IterationOutcome | undefined>): Promise<IterationOutcome | undefined> {
      if (refused(row)) return Promise.resolve({ error: workerDiedError(`view ${job.column} of row ${row.rowid}`) });
      return records.alone(() => records.computeMarked(tableId, field(row), run, () => true));
    },
  };
}

/** Run the iterator over one base row, collecting and checking its view rows. Undefined: the input is still pending. */
async function iterateRow(row: BatchRow, input: string, call: IteratorCall, view: CatalogTable, deps: IterateDeps): Promise<IterationOutcome | undefined> {
  const state = row.cells[input];
  if (state === 'error') return { error: { type: 'UpstreamError', message: `input column ${input} failed` } };
  if (state === 'pending') return undefined;
  const value = row.values[input];
  if (value === null || value === undefined) return { rows: [] };
  const outputs = view.columns.filter((c) => !c.computed && c.name !== 'pos');
  const destination = outputs.find((c) => c.type.destination)?.type.destination ?? deps.media.defaultDestination;
  const out: Row[] = [];
  let warning: string | undefined;
  const warn = (message: string) => void (warning = message);
  // an iterator that goes quiet for the deadline (no row, no end) is stopped: its signal aborts
  // (an ffmpeg or a reader it started ends) and the row fails, rather than holding the job for ever
  const quiet = new AbortController();
  const signal = deps.signal ? AbortSignal.any([deps.signal, quiet.signal]) : quiet.signal;
  const ms = deps.rowTimeoutMs ?? 0;
  const rows = call.def.run(value as string, call.params, { media: deps.media, destination, warn, signal })[Symbol.asyncIterator]();
  try {
    for (;;) {
      const step = await withDeadline(rows.next(), ms, () => {
        quiet.abort();
        return new IteratorTimeoutError(
          `${call.def.name} gave no row for ${ms} ms (after ${out.length} rows; its deadline: TESSERA_UDF_TIMEOUT_MS between rows)`,
        );
      });
      if (step.done) break;
      const r: Row = { pos: out.length };
      for (const c of outputs) r[c.name] = validateValue(`${call.def.name} output ${c.name}`, typeFromSpec(c.type), (step.value as Row)[c.name] ?? null);
      out.push(r);
    }
  } catch (e) {
    // a generator stopped midway cleans up (closes its files) when it can
    void rows.return?.(undefined)?.catch(() => undefined);
    if (isJobLevelError(e)) throw e;
    const err = e as Error;
    if (categoryOf(err) === 'config') throw new UnrecoverableError(`view ${view.name}: ${err.message}`);
    return { error: { type: err?.name || 'Error', message: err?.message || String(e) } };
  }
  return warning === undefined ? { rows: out } : { rows: out, warning };
}

/**
 * Fleet code skew guard, as for UDFs: the catalog records the iterator and parameters the view was
 * applied with; a worker whose code has others refuses rather than making different rows.
 */
function checkIterator(job: IterateJob, spec: { view: string; iterator: string; params: unknown }, registry: PipelineRegistry): IteratorCall {
  let call: IteratorCall;
  try {
    call = registry.iterator(job.pipeline, spec.view);
  } catch (e) {
    throw new UnrecoverableError((e as Error).message);
  }
  const mine = `${call.def.name}@${call.def.version}`;
  if (mine !== spec.iterator) {
    throw new UnrecoverableError(
      `iterator version skew: view ${spec.view} was applied with ${spec.iterator}, but this worker has ${mine}; deploy the matching pipeline code, or apply the new code with --recompute`,
    );
  }
  // the catalog's parameters went through jsonb (keys reordered, undefined dropped): compare as JSON values
  const params = JSON.parse(JSON.stringify(call.params ?? null));
  if (!isDeepStrictEqual(params, spec.params ?? null)) {
    throw new UnrecoverableError(
      `iterator parameters of view ${spec.view} differ between the catalog (${JSON.stringify(spec.params)}) and this worker's code (${JSON.stringify(call.params)}); apply the code (with --recompute) or deploy the matching code`,
    );
  }
  return call;
}

function columnOf(node: { op: string; column?: string }): string {
  if (node.op !== 'column' || !node.column) throw new UnrecoverableError('an iteration column must read a column');
  return node.column;
}
