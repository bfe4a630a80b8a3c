import { isTransient, type ExportDef } from '@tessera/core';
import { isExportStuck } from '@tessera/connectors';
import type { Store, CatalogTable, ShipGuard } from '@tessera/store';
import type { DerivedWork, FinalizeJob } from '../jobs/payloads';
import type { PipelineRegistry } from '../registry';
import { shipChanges, shipFull, shipRows, type Shipped } from '../exports/ship';

export interface FinalizeResult {
  version: number;
  exports: Array<{ sink: string; upserted: number; deleted: number; held: number; full: boolean; seq: number; ms?: number }>;
  /** exports that could not proceed (schema mismatch, permission), with the reason */
  stuck: Array<{ sink: string; reason: string }>;
  /** view versions started after this one */
  derived?: number;
}

export interface FinalizeDeps {
  store: Store;
  registry: PipelineRegistry;
  /** start view work this version made (runs after its exports) */
  enqueueDerived?: (pipeline: string, derived: DerivedWork[]) => Promise<void>;
  /** how long a ship waits for another ship of the same export before the job goes to the delayed set (ms) */
  lockWaitMs?: number;
  /** runs a ship suspected of killing its process when nothing else suspect runs here (CrashRecords.alone) */
  alone?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** the job stalled before (its process died): a full ship asked for does not try a refused export again */
  stalledBefore?: boolean;
}

/**
 * Runs once every batch of a version is done: ships what the version changed to each export of the
 * table, then starts the view work the version made.
 *
 * Each export ships under its own lock in the record (ships of one export never overlap) and reads
 * the record as it is when it holds the lock, so the last ship of a key always carries the key's
 * latest state, whatever order the jobs of different versions run in. A row whose exported cells
 * are still pending (a batch whose job failed) is held back, never shipped with nulls; the reconcile
 * that computes its cells ships it (that reconcile's finalize ships the rows of its batches). A ship that cannot finish marks the export for a full
 * ship, which re-ships every live row and deletes the target's other rows. Sinks upsert by key, so
 * running this twice (a retry, a reconcile) changes nothing.
 */
export async function runFinalize(job: FinalizeJob, deps: FinalizeDeps): Promise<FinalizeResult> {
  const result: FinalizeResult = { version: job.version, exports: [], stuck: [] };
  // every export gets its rows even when another one's target is down; the retry ships to all again (idempotent)
  const failures: Error[] = [];
  if (deps.registry.has(job.pipeline)) {
    const exports = deps.registry.get(job.pipeline).exports.filter((e) => e.source === job.table && (!job.sinks || job.sinks.includes(e.sink.name)));
    if (exports.length) {
      const table = await deps.store.table(job.pipeline, job.table);
      for (const ex of exports) {
        try {
          const started = Date.now();
          result.exports.push({ ...(await shipOne(deps, table, ex, job)), ms: Date.now() - started });
        } catch (err) {
          // the export is recorded as stuck with this reason (see tessera status); the job does not
          // retry what only a person can fix: the next ship of that export re-ships in full
          if (isExportStuck(err)) result.stuck.push({ sink: ex.sink.name, reason: (err as Error).message });
          else failures.push(err as Error);
        }
      }
    }
  }
  // view work does not wait for an export target to come back
  if (job.derived?.length && deps.enqueueDerived) {
    await deps.enqueueDerived(job.pipeline, job.derived);
    result.derived = job.derived.length;
  }
  if (failures.length) throw failures.find((f) => !isTransient(f)) ?? failures[0];
  // the version is shipped (a stuck export re-ships in full by itself); a finalize the fleet lost
  // leaves it unshipped, and the periodic reconcile ships it again. A reconcile's ship of some rows,
  // or one to some exports only, does not ship the version.
  if (deps.registry.has(job.pipeline) && !job.rows && !job.sinks) {
    await deps.store.history.shipped(await deps.store.table(job.pipeline, job.table), job.version, job.nothingLeft === true);
  }
  return result;
}

async function shipOne(deps: FinalizeDeps, table: CatalogTable, ex: ExportDef, job: FinalizeJob): Promise<FinalizeResult['exports'][number]> {
  let shipped: Shipped = { upserted: 0, deleted: 0, held: 0 };
  let full = false;
  let seq = 0;
  // an export whose ships keep killing the process is refused (stuck), and tried again only by a full ship asked for
  const guard = { alone: deps.alone ?? ((fn) => fn()), retryRefused: !!job.full && !deps.stalledBefore } satisfies ShipGuard;
  await deps.store.exports.ship(
    table,
    ex.sink.name,
    deps.lockWaitMs ?? 60_000,
    async (ship) => {
      seq = ship.seq;
      if (job.rows && !job.full && !ship.needsFull) {
        // a reconcile's: the rows whose cells it computed (held back until now), not the whole table
        shipped = await shipRows(deps.store, table, ex, job.rows, ship.seq);
        return { full: false, held: shipped.held };
      }
      // a version whose record is gone (reverted) leaves nothing to diff against: ship in full
      const v = job.full || ship.needsFull ? undefined : await deps.store.history.change(table, job.version);
      full = !v;
      shipped = v ? await shipChanges(deps.store, table, ex, job.version, v, ship.seq) : await shipFull(deps.store, table, ex, ship.seq);
      return { full, held: shipped.held };
    },
    guard,
  );
  return { sink: ex.sink.name, ...shipped, full, seq };
}
