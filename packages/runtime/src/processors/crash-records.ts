import type { Redis } from 'ioredis';

/** A cell whose computation killed its worker process this many times, computed alone each time, is refused. */
export const DEATHS_BEFORE_REFUSAL = 2;
/**
 * A row in flight in a batch at this many deaths is computed alone from then on. Not at the first:
 * a fleet whose workers are killed (a deploy, an eviction) would otherwise compute every row of an
 * interrupted batch alone, and its model batches become one request per row.
 */
export const BATCH_DEATHS_BEFORE_ALONE = 2;
/** Records of rows nobody computes again (their table dropped, the row updated) leave Redis with time. */
const RECORD_TTL_MS = 24 * 3_600_000;

/** The cell error a refused row gets. */
export function workerDiedError(what: string): { type: string; message: string } {
  return {
    type: 'WorkerDied',
    message:
      `the worker process died ${DEATHS_BEFORE_REFUSAL} times while computing ${what} alone (out of memory, a native crash, ` +
      'or code that ends the process); it is not tried again: fix the input or the code, then recompute the column',
  };
}

/**
 * What the fleet knows of rows that were being computed when a worker process died: a native
 * crash, an out-of-memory kill or code that exits the process takes every job the process held
 * with it, and BullMQ's stalled check hands them to another worker, which would die on the same
 * row, and so on, with the periodic reconcile enqueueing the row again once the job gave up: one
 * poison row would hold back its whole batch, and crash workers, forever.
 *
 * So a job that stalled before (or whose table has records) marks what it computes in Redis,
 * under one hash per table, and clears each mark once that is computed (or the job stops for any
 * other reason). A mark left behind names what was in flight when its process died:
 *
 * - a row of a stage computed in a batch with others (any of them may be the culprit): `n`, the
 *   deaths it was in flight at. At BATCH_DEATHS_BEFORE_ALONE it is computed alone, a cell at a time;
 * - a cell (or a view's iteration of a row) computed alone: `n`, its process died n times then.
 *   At DEATHS_BEFORE_REFUSAL it fails with WorkerDied (its dependents with UpstreamError) and is
 *   not tried again; the row's other cells and the rest of its batch are computed.
 *
 * Cells computed alone wait for each other within a process (`alone`), and for its marked batches
 * (`batch`), so a death is blamed on one of them; other work of the process (a first run, before
 * any record) may still have killed it, which is why one death is not enough. Records live in Redis: if Redis loses them, a poison row costs a few more deaths. A
 * record whose cell was written but whose clearing a death interrupted lapses with the hash's TTL.
 */
export class CrashRecords {
  /** the row computed alone in this process now, and those waiting for their turn behind it */
  private turn: Promise<unknown> = Promise.resolve();
  /** computations alone running or waiting for their turn, and when there are none left */
  private aloneQueued = 0;
  private aloneDone = settled();
  /** marked batches computing in this process, and when there are none left */
  private batchesRunning = 0;
  private batchesDone = settled();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(tableId: number): string {
    return `${this.prefix}:crashes:${tableId}`;
  }

  /** The records of these rows (by field), none when the table has none (a single O(1) call then). */
  async read(tableId: number, fields: string[]): Promise<Map<string, number>> {
    const found = new Map<string, number>();
    const key = this.key(tableId);
    if (!fields.length || !(await this.redis.hlen(key))) return found;
    for (let i = 0; i < fields.length; i += 1000) {
      const part = fields.slice(i, i + 1000);
      const values = await this.redis.hmget(key, ...part);
      values.forEach((v, k) => v !== null && found.set(part[k]!, Number(v) || 0));
    }
    return found;
  }

  /** Mark rows about to be computed together: each with the deaths it would have then (see settleBatch). */
  async markBatch(tableId: number, marks: Array<[field: string, deaths: number]>): Promise<void> {
    if (!marks.length) return;
    const key = this.key(tableId);
    await this.redis
      .multi()
      .hset(key, ...marks.flat())
      .pexpire(key, RECORD_TTL_MS)
      .exec();
  }

  /** A batch ended without a death: forget the rows it computed, put the others' marks back as they were. */
  async settleBatch(tableId: number, computed: string[], others: Array<[field: string, deaths: number]>): Promise<void> {
    const key = this.key(tableId);
    const m = this.redis.multi();
    const gone = [...computed, ...others.filter(([, d]) => d === 0).map(([f]) => f)];
    if (gone.length) m.hdel(key, ...gone);
    const back = others.filter(([, d]) => d > 0);
    if (back.length) m.hset(key, ...back.flat());
    await m.exec();
  }

  /** Mark a cell (or iteration) about to be computed alone: returns the deaths this one would make. */
  private async markAlone(tableId: number, field: string): Promise<number> {
    const key = this.key(tableId);
    const [[, n]] = (await this.redis.multi().hincrby(key, field, 1).pexpire(key, RECORD_TTL_MS).exec()) as [[Error | null, number]];
    return n;
  }

  /** Take back a mark made for a cell whose computation ended without a death, leaving it its earlier deaths. */
  private async unmarkAlone(tableId: number, field: string): Promise<void> {
    await this.redis.hincrby(this.key(tableId), field, -1);
  }

  /** Forget marks of what was computed (or refused). */
  async clear(tableId: number, fields: string[]): Promise<void> {
    for (let i = 0; i < fields.length; i += 1000) await this.redis.hdel(this.key(tableId), ...fields.slice(i, i + 1000));
  }

  /**
   * Compute one cell (or iteration) alone, marked while `fn` runs: a death leaves the mark; once
   * `done()` says it was computed the record goes, otherwise (`fn` threw, or the job stopped first)
   * it keeps the deaths it had.
   */
  async computeMarked<T>(tableId: number, field: string, fn: () => Promise<T>, done: (result: T) => boolean): Promise<T> {
    await this.markAlone(tableId, field);
    let result: T;
    try {
      result = await fn();
    } catch (e) {
      await this.unmarkAlone(tableId, field);
      throw e;
    }
    if (done(result)) await this.clear(tableId, [field]);
    else await this.unmarkAlone(tableId, field);
    return result;
  }

  /**
   * Run `fn` when nothing else is computed alone in this process, nor any marked batch (see
   * `batch`): a death while it runs is then not one a suspect batch of this process caused.
   */
  alone<T>(fn: () => Promise<T>): Promise<T> {
    if (this.aloneQueued++ === 0) this.aloneDone = pending();
    const run = this.turn
      .then(async () => {
        while (this.batchesRunning > 0) await this.batchesDone.promise;
        return fn();
      })
      .finally(() => {
        if (--this.aloneQueued === 0) this.aloneDone.resolve();
      });
    this.turn = run.catch(() => undefined);
    return run;
  }

  /**
   * Run a marked batch (rows in flight at an earlier death, any of which may kill the process) when
   * nothing is computed alone in this process, or waiting to be: otherwise the batch's own killer
   * would be blamed on the row computed alone beside it, which an innocent row (a call that takes
   * long, say) could not survive twice. Marked batches run side by side.
   */
  async batch<T>(fn: () => Promise<T>): Promise<T> {
    while (this.aloneQueued > 0) await this.aloneDone.promise;
    if (this.batchesRunning++ === 0) this.batchesDone = pending();
    try {
      return await fn();
    } finally {
      if (--this.batchesRunning === 0) this.batchesDone.resolve();
    }
  }
}

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function pending(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

function settled(): Deferred {
  const d = pending();
  d.resolve();
  return d;
}
