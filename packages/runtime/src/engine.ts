import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { claimQueuePrefix, type RecordIdentity } from './queue-owner';
import { planPipeline, redact, TesseraError, setValueLimits, type AnyTableHandle, type PipelineDef, type Stage, dependentsOf } from '@tessera/core';
import {
  Store,
  iterationColumns,
  viewsOf,
  type ApplyOptions,
  type Row,
  type WriteOptions,
  type CatalogTable,
  type WriteOp,
  type RequestOutcome,
  type GroupCommit,
} from '@tessera/store';
import type { TesseraConfig } from './config';
import { buildVersionFlow, type FlowIteration } from './dag/build-flow';
import type { DerivedWork } from './jobs/payloads';
import { checkJsonSchemas } from './json-schemas';
import { checkWriteLimits } from './ingest-limits';
import { loadPipelines } from './registry';
import { inlineWrite, writtenOnce, type InlineWrite } from './inline-compute';
import type { IngestRequest } from './ingest/commit-grouper';
import { CONTROL_QUEUE, INGEST_QUEUE, queueName } from './jobs/queues';
import { syncSources } from './sources/schedules';
import { typedTable, type TypedTable } from './typed-table';

export interface EnqueueOptions {
  /** only the rows this version wrote (inserts, updates) rather than every live row */
  vMin?: number;
  /** only these computed columns (and the stages holding them) */
  columns?: string[];
  tag?: string;
  /** the finalize job re-ships every live row to the exports */
  full?: boolean;
  /** finalize ships only to these exports (sink names) */
  sinks?: string[];
  /** model calls ignore the response cache (a fresh answer, still stored) */
  fresh?: boolean;
  /** view work to start once this version's work is done */
  derived?: DerivedWork[];
  /** the computed columns not in `columns` were filled by the commit itself, in every row it wrote (an insert's inline cells) */
  othersFilled?: boolean;
}

/**
 * The control side of Tessera: applies pipelines, commits writes to the store, and turns each
 * new table version into a job DAG. Used by the CLI, the client library and the ingest worker.
 */
export class Engine {
  private readonly queues = new Map<string, Queue>();
  /** pipeline code this process has loaded: its JSON schemas check writes */
  private readonly defs = new Map<string, PipelineDef>();
  private codeLoaded?: Promise<void>;
  /**
   * Told of the computed cells each insert this process commits filled itself (cheap columns
   * computed by the writer, see inlineWrite), by column: no stage job computes them, so the
   * worker's cell metrics count them here.
   */
  onCellsFilled?: (pipeline: string, table: string, filled: Record<string, number>) => void;

  private constructor(
    readonly config: TesseraConfig,
    readonly store: Store,
    readonly redis: Redis,
    readonly flows: FlowProducer,
    private readonly record: RecordIdentity,
  ) {}

  static async connect(config: TesseraConfig): Promise<Engine> {
    setValueLimits({ maxValueBytes: config.maxValueBytes, maxJsonDepth: config.maxJsonDepth });
    const store = await Store.open({ url: config.databaseUrl, schema: config.schema, chunkBytes: config.batchBytes }).catch((e: Error) => {
      throw new Error(
        `cannot reach Postgres at ${redact(config.databaseUrl)}: ${e.message}. Start it (scripts/start-services.sh or docker compose -f docker/compose.yaml up -d) or set TESSERA_DATABASE_URL`,
      );
    });
    const redis = await connectRedis(config.redisUrl).catch(async (e: Error) => {
      await store.close();
      throw e;
    });
    // one prefix, one record: a second record on this prefix would mix its work with the first's
    const record = { id: await store.recordId(), schema: config.schema, database: redact(config.databaseUrl) };
    await claimQueuePrefix(redis, config.queuePrefix, record).catch(async (e: Error) => {
      redis.disconnect();
      await store.close();
      throw e;
    });
    const flows = new FlowProducer({ connection: redis, prefix: config.queuePrefix });
    // connection errors surface on the commands that meet them; unheard, BullMQ prints each reconnect's stack
    flows.on('error', () => {});
    return new Engine(config, store, redis, flows, record);
  }

  /** Keep the queue prefix bound to this record (workers call it while they run; see claimQueuePrefix). */
  renewQueueClaim(): Promise<void> {
    return claimQueuePrefix(this.redis, this.config.queuePrefix, this.record);
  }

  queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: this.config.queuePrefix });
      q.on('error', () => {}); // as for the flow producer above
      this.queues.set(name, q);
    }
    return q;
  }

  ingestQueue(): Queue {
    return this.queue(INGEST_QUEUE);
  }

  /** Make a pipeline's code known to this engine (apply does it too), so writes are checked against its JSON schemas. */
  define(def: PipelineDef): void {
    this.defs.set(def.name, def);
  }

  /**
   * The pipeline's code, for the JSON-schema checks of writes. A client that never applied or
   * defined it (Engine.connect + insert, as the README shows) loads it once from TESSERA_PIPELINES,
   * so its writes are checked as the ingest worker checks them.
   */
  private async codeOf(pipeline: string): Promise<PipelineDef | undefined> {
    if (!this.defs.has(pipeline)) {
      this.codeLoaded ??= loadPipelines(this.config.pipelines).then(
        (defs) => defs.forEach((d) => this.defs.has(d.name) || this.defs.set(d.name, d)),
        () => undefined, // no code here: the catalog's type checks still run
      );
      await this.codeLoaded;
    }
    return this.defs.get(pipeline);
  }

  /** Create or migrate the catalog to match the definition; start backfills for what changed. */
  async apply(def: PipelineDef, opts: ApplyOptions = {}) {
    this.define(def);
    const plan = planPipeline(def);
    // tables whose inserts fill every computed cell are never updated in place: full pages
    const written = new Set(plan.tables.filter((t) => writtenOnce(t, def.udfs)).map((t) => t.name));
    const changes = await this.store.apply(plan, { ...opts, writtenOnce: written });
    for (const ch of changes) {
      if (ch.backfill) await this.enqueue(def.name, ch.table, ch.version, { columns: ch.columns, ...(ch.derived?.length ? { derived: ch.derived } : {}) });
    }
    await this.syncExports(def, new Set(changes.filter((ch) => ch.backfill).map((ch) => ch.table)));
    await syncSources(this, def); // schedulers follow the sources in the code: added, changed, removed
    return changes;
  }

  /**
   * A new export, or one whose columns or key changed, ships every existing row (the target gains
   * new columns as it is prepared); the catalog remembers each export's signature to tell. The
   * record marks such an export for a full ship; a table `backfilling` in the same apply gets it
   * from that backfill's finalize, once its cells are computed: a full ship of its own, running
   * beside the backfill, would ship every row whose part was already written, then the backfill
   * would ship them all again (a backfill over large rows paid for each twice).
   */
  private async syncExports(def: PipelineDef, backfilling = new Set<string>()): Promise<void> {
    for (const table of await this.store.tables(def.name)) {
      const decls = def.exports
        .filter((e) => e.source === table.name)
        .map((e) => ({ sink: e.sink.name, signature: { columns: e.columns, key: e.key, propagateDeletes: e.propagateDeletes } }));
      const changed = await this.store.exports.sync(table, decls);
      // a table without rows has nothing to ship now; its first ship is a full one all the same
      if (changed.length && !backfilling.has(table.name) && (await this.store.exports.hasRows(table)))
        await this.exportFull(def.name, table.name, { sinks: changed });
    }
  }

  /**
   * Undo the latest insert, update or delete of a table; its exports (and those of the views over
   * it, whose rows follow) are shipped in full, so the targets lose the reverted rows and get the
   * restored ones back.
   */
  async revert(pipeline: string, table: string): Promise<number> {
    const v = await this.store.revert(pipeline, table);
    const all = await this.store.tables(pipeline);
    const reached = [all.find((t) => t.name === table)!];
    for (let i = 0; i < reached.length; i++) reached.push(...viewsOf(all, reached[i]!));
    for (const t of reached) await this.enqueue(pipeline, t.name, Math.max(1, t.version), { columns: [], tag: `revert-${v}-${Date.now()}`, full: true });
    return v;
  }

  /**
   * A table's typed client: `engine.table(pipeline.docs).insert([...])`, rows typed by the
   * pipeline's declaration (the string API below takes any rows, for the CLI and the workers).
   */
  table<H extends AnyTableHandle>(handle: H): TypedTable<H> {
    return typedTable(this, handle);
  }

  async insert(pipeline: string, table: string, rows: Row[], opts: WriteOptions = {}) {
    checkWriteLimits(rows, this.config, `insert into ${pipeline}.${table}`);
    const code = await this.codeOf(pipeline);
    checkJsonSchemas(code, table, rows);
    const t = await this.store.table(pipeline, table);
    const inline = inlineWrite(t, code?.udfs);
    const { filled, ...r } = await this.store.insert(pipeline, table, rows, opts, inline?.cells);
    this.tellFilled(pipeline, table, filled);
    // a repeated request wrote nothing now: its first write decided which cells are pending
    await this.enqueue(pipeline, table, r.version, { vMin: r.version, ...(r.duplicate ? {} : leftToStages(t, inline)) });
    return r;
  }

  async update(pipeline: string, table: string, rows: Row[], opts: WriteOptions = {}) {
    checkWriteLimits(rows, this.config, `update of ${pipeline}.${table}`);
    checkJsonSchemas(await this.codeOf(pipeline), table, rows);
    const r = await this.store.update(pipeline, table, rows, opts);
    // every pending cell of the rows written, not only the reset ones: a cell still pending in the
    // old row version (its job in flight) was carried over, and that job writes to the old version
    await this.enqueue(pipeline, table, r.version, { vMin: r.version, ...('derived' in r ? { derived: r.derived } : {}) });
    return r;
  }

  /** Insert rows whose key is new, update those whose key exists (one version); see Store.upsert. */
  async upsert(pipeline: string, table: string, rows: Row[], opts: WriteOptions = {}) {
    checkWriteLimits(rows, this.config, `upsert into ${pipeline}.${table}`);
    checkJsonSchemas(await this.codeOf(pipeline), table, rows);
    const r = await this.store.upsert(pipeline, table, rows, opts);
    await this.enqueue(pipeline, table, r.version, { vMin: r.version, derived: r.derived });
    return r;
  }

  async delete(pipeline: string, table: string, keys: Row[], opts: WriteOptions = {}) {
    const r = await this.store.delete(pipeline, table, keys, opts);
    await this.enqueue(pipeline, table, r.version, { columns: [], ...('derived' in r ? { derived: r.derived } : {}) });
    return r;
  }

  /**
   * Commit many producer calls of one kind to one table as one version (see Store.commitGroup)
   * and enqueue its work; each request gets its own outcome. A request that was already applied
   * (a retried job) gets its first version; if the process that committed it died before
   * enqueueing its work, the work is enqueued now.
   */
  async commitGroup(pipeline: string, table: string, op: WriteOp, requests: IngestRequest[]): Promise<RequestOutcome[]> {
    const outcomes: RequestOutcome[] = new Array(requests.length);
    const checked: number[] = [];
    requests.forEach((r, i) => {
      try {
        if (op !== 'delete') checkJsonSchemas(this.defs.get(pipeline), table, r.rows);
        checked.push(i);
      } catch (error) {
        outcomes[i] = { ok: false, error: error as Error };
      }
    });
    if (checked.length) {
      const t = await this.store.table(pipeline, table);
      const inline = op === 'insert' && !requests.some((r) => r.afterStall) ? inlineWrite(t, this.defs.get(pipeline)?.udfs) : undefined;
      let g: GroupCommit;
      try {
        g = await this.store.commitGroup(
          pipeline,
          table,
          op,
          checked.map((i) => requests[i]!),
          inline?.cells,
        );
      } catch (e) {
        // the commit failed as a whole (its jobs are retried): requests refused above keep their refusal
        if (checked.length === requests.length) throw e;
        for (const i of checked) outcomes[i] = { ok: false, error: e as Error };
        return outcomes;
      }
      g.outcomes.forEach((o, k) => (outcomes[checked[k]!] = o));
      for (const c of g.commits) this.tellFilled(pipeline, table, c.filled);
      const fresh = new Set(g.commits.map((c) => c.version));
      const left = leftToStages(t, inline);
      for (const c of g.commits)
        await this.enqueue(pipeline, table, c.version, { ...(op === 'delete' ? { columns: [] } : { vMin: c.version, ...left }), derived: c.derived });
      await this.store.history.markEnqueued(t, [...fresh]);
      const again = [...new Set(g.outcomes.flatMap((o) => (o.ok && o.duplicate && !fresh.has(o.version) ? [o.version] : [])))];
      for (const v of await this.store.history.unqueued(t, again)) {
        await this.enqueue(pipeline, table, v, op === 'delete' ? { columns: [] } : { vMin: v });
        await this.store.history.markEnqueued(t, [v]);
      }
    }
    return outcomes;
  }

  /** Re-ship every live row of a table to its exports, or to the named ones (`tessera export --full [--sink name]`). */
  async exportFull(pipeline: string, table: string, opts: { sinks?: string[] } = {}): Promise<void> {
    const t = await this.store.table(pipeline, table);
    await this.enqueue(pipeline, table, t.version, {
      columns: [],
      tag: `full-${Date.now()}`,
      full: true,
      ...(opts.sinks?.length ? { sinks: opts.sinks } : {}),
    });
  }

  /**
   * Recompute computed columns (all cells, or only failed ones) as a new version. Model calls whose
   * inputs were answered before are answered from the response cache (no call) unless `fresh`.
   */
  async recompute(pipeline: string, tableName: string, opts: { columns?: string[]; errorsOnly?: boolean; fresh?: boolean } = {}) {
    const table = await this.store.table(pipeline, tableName);
    // by default the UDF columns (and, with errorsOnly, failed iterations); views are re-iterated only when named
    const wanted = opts.columns ?? table.columns.filter((c) => c.computed && (opts.errorsOnly || !c.computed.iterate)).map((c) => c.name);
    // dependents of a recomputed column are stale too
    const columns = [...new Set([...wanted, ...dependentsOf(table.columns, wanted)])];
    const r = await this.store.recompute(pipeline, tableName, { columns, errorsOnly: !!opts.errorsOnly });
    await this.enqueue(pipeline, tableName, r.version, { columns, derived: r.derived, ...(opts.fresh ? { fresh: true } : {}) });
    return r;
  }

  /** Enqueue the job DAG computing the pending cells of a version. Returns the number of batches. */
  async enqueue(pipeline: string, tableName: string, version: number, opts: EnqueueOptions = {}): Promise<number> {
    const table = await this.store.table(pipeline, tableName);
    const stages = selectStages(table, opts.columns);
    const iterations = selectIterations(table, opts.columns);
    const all = [...stages.flatMap((s) => s.columns), ...iterations.map((i) => i.column)];
    const batches = all.length ? await this.store.cells.pendingRanges(table, all, this.config.batchSize, opts.vMin) : [];
    // no batch, and every column looked at: no cell of the version's rows is pending, nor can become
    // pending but by a later version (its finalize records that, so a waiting writer reads no rows)
    const nothingLeft = !batches.length && (opts.columns === undefined || opts.othersFilled === true);
    // a revert hands its version number to the next write: the commit time keeps the jobs of the two
    // apart (a job id BullMQ still holds would swallow the new one), and the same for a re-enqueue
    const stamp = opts.tag ? undefined : await this.store.history.stamp(table, version);
    const tag = opts.tag ?? (stamp ? `at${stamp}` : undefined);
    // the finalize job always runs: it ships the version's changes (deletes too) to the exports
    await this.flows.add(
      buildVersionFlow(
        {
          pipeline,
          table: tableName,
          version,
          stages,
          iterations,
          batches,
          ...(tag ? { tag } : {}),
          ...(opts.full ? { full: true } : {}),
          ...(opts.sinks?.length ? { sinks: opts.sinks } : {}),
          ...(opts.derived?.length ? { derived: opts.derived } : {}),
          ...(opts.fresh ? { fresh: true } : {}),
          ...(nothingLeft ? { nothingLeft: true } : {}),
        },
        { attempts: this.config.jobAttempts },
      ),
    );
    return batches.length;
  }

  /** Start the view work a base version made, once the base's own work is done (called by its finalize job). */
  async enqueueDerived(pipeline: string, derived: DerivedWork[]): Promise<void> {
    for (const d of derived) {
      await this.enqueue(pipeline, d.table, d.version, {
        derived: d.then,
        ...(d.columns ? { columns: d.columns } : {}),
        ...(d.vMin === undefined ? {} : { vMin: d.vMin }),
      });
    }
  }

  /**
   * Wait until every computed cell of the pipeline has a value or an error (rows of aborted
   * versions aside). Rejects after `timeoutMs`, naming what is still pending.
   */
  async waitIdle(pipeline: string, opts: { timeoutMs?: number; pollMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + (opts.timeoutMs ?? 300_000);
    const queues = [...new Set([CONTROL_QUEUE, 'cpu', 'media', ...(await this.queuesOf(pipeline))])];
    let counted = Date.now();
    for (;;) {
      // while the queues hold work, counting pending cells (a scan of every table) would only load
      // the database the workers are writing to; count when they are idle, and at least every second
      // (other pipelines may keep them busy; lost work leaves cells pending with no job), not at
      // once: right after a write the queues are busy with it
      if (Date.now() - counted >= 1000 || !(await this.queuesBusy(queues))) {
        counted = Date.now();
        const pending: string[] = [];
        for (const t of await this.store.tables(pipeline)) {
          const n = await this.store.cells.pendingCount(t);
          if (n) pending.push(`${t.name}: ${n} cell(s)`);
        }
        if (!pending.length) return;
        if (Date.now() > deadline)
          throw new Error(
            `pipeline ${pipeline} still has pending cells after ${opts.timeoutMs ?? 300_000} ms (${pending.join(', ')}); are workers running? \`tessera reconcile\` re-enqueues lost work`,
          );
      }
      await new Promise((r) => setTimeout(r, opts.pollMs ?? 200));
    }
  }

  /**
   * Wait until one version's work is done: its finalize has run (its exports hold its rows) and none
   * of the live rows it wrote has a pending cell. What a writer that needs its rows computed waits
   * for (`tessera insert --wait`): its cost is the version's, not the table's, where waitIdle counts
   * every pending cell of the pipeline. View rows it leads to get versions of their own (waitIdle
   * waits for them). Rejects at once for an aborted or unknown version, and after `timeoutMs`
   * naming what is left.
   */
  async waitVersion(
    pipeline: string,
    table: string,
    version: number,
    /** `pollMs`: the longest pause between two checks (250 ms) */
    opts: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 300_000;
    const deadline = Date.now() + timeoutMs;
    const t = await this.store.table(pipeline, table);
    const name = `${pipeline}.${table} v${version}`;
    let left = 'its finalize job has not run';
    // checks (a primary-key read) start 10 ms apart and space out to `pollMs`: a small version is
    // seen done soon after it is, a long one costs few reads
    let pause = 10;
    for (;;) {
      const p = await this.store.history.progress(t, version);
      if (!p) throw new TesseraError('E_UNKNOWN_VERSION', `${name} has no record: it was never written, or was reverted`, { pipeline, table, version });
      if (p.aborted) throw new TesseraError('E_VERSION_ABORTED', `${name} was aborted: ${p.aborted}`, { pipeline, table, version });
      if (p.complete) return;
      if (p.shipped) {
        // left pending by a batch whose job failed: the periodic reconcile computes them
        const n = await this.store.cells.pendingCountOf(t, version);
        if (!n) return;
        left = `${n} cell(s) still pending`;
      }
      if (Date.now() > deadline)
        throw new TesseraError('E_WAIT_TIMEOUT', `${name} is not done after ${timeoutMs} ms: ${left}; are workers running?`, { pipeline, table, version });
      // a shipped version's count reads its rows: it is repeated no more than once a second
      pause = p.shipped ? Math.max(1000, opts.pollMs ?? 0) : Math.min(pause * 1.5, opts.pollMs ?? 250);
      await new Promise((r) => setTimeout(r, pause));
    }
  }

  /**
   * Does any of these queues hold a job that is not finished? Delayed jobs on the control queue do
   * not count: the reconcile scheduler always keeps its next tick there, and a delayed finalize
   * computes no cell (the pending count below stays the judge either way).
   */
  private async queuesBusy(names: string[]): Promise<boolean> {
    for (const name of names) {
      const states = name === CONTROL_QUEUE ? BUSY_STATES.filter((s) => s !== 'delayed') : BUSY_STATES;
      const counts = await this.queue(name).getJobCounts(...states);
      if (Object.values(counts).some((n) => n > 0)) return true;
    }
    return false;
  }

  /** Report the cells a commit filled itself to `onCellsFilled` (a listener's error is not the write's). */
  private tellFilled(pipeline: string, table: string, filled: Record<string, number>): void {
    if (!this.onCellsFilled) return;
    try {
      this.onCellsFilled(pipeline, table, filled);
    } catch {
      // metrics must never fail a committed write
    }
  }

  /** Every queue name a pipeline's stages use. */
  async queuesOf(pipeline: string): Promise<string[]> {
    const tables = await this.store.tables(pipeline);
    return [...new Set(tables.flatMap((t) => [...t.stages.map((s) => s.queue), ...iterationColumns(t).map((c) => c.computed!.queue)].map(queueName)))];
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.flows.close();
    this.redis.disconnect();
    await this.store.close();
  }

  /** Close without waiting for Redis (it is unreachable): its connection is dropped, the record closed. */
  async closeWithoutRedis(): Promise<void> {
    this.redis.disconnect();
    await this.store.close();
  }
}

/** Job states of work not finished yet. */
const BUSY_STATES = ['waiting', 'active', 'delayed', 'waiting-children', 'prioritized'] as const;

/** The iteration columns among `columns` (all when not given): each view's iterate jobs. */
export function selectIterations(table: CatalogTable, columns?: string[]): FlowIteration[] {
  return iterationColumns(table)
    .filter((c) => !columns || columns.includes(c.name))
    .map((c) => ({ column: c.name, queue: c.computed!.queue, after: c.computed!.iterate!.after }));
}

/** The stages holding `columns` (all stages when not given), narrowed to those columns. */
export function selectStages(table: CatalogTable, columns?: string[]): Stage[] {
  if (!columns) return table.stages;
  const want = new Set(columns);
  return table.stages.map((s) => ({ queue: s.queue, columns: s.columns.filter((c) => want.has(c)) })).filter((s) => s.columns.length);
}

/** A Redis connection BullMQ can share; fails fast with a plain message when Redis is not there. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, connectTimeout: 5000 });
  redis.on('error', () => {}); // reconnects are handled by ioredis; errors surface on commands
  try {
    await redis.connect();
    await redis.ping();
  } catch (e) {
    redis.disconnect();
    throw new Error(
      `cannot reach Redis at ${redact(url)}: ${(e as Error).message}. Start it (scripts/start-services.sh or docker compose -f docker/compose.yaml up -d) or set TESSERA_REDIS_URL`,
    );
  }
  return redis;
}

/** The computed columns a version's jobs still have to run after an insert that filled some itself (see inlineWrite). */
function leftToStages(table: CatalogTable, inline: InlineWrite | undefined): { columns?: string[]; othersFilled?: boolean } {
  const filled = new Set(inline?.filled());
  if (!filled.size) return {};
  return { columns: table.columns.filter((c) => c.computed && !filled.has(c.name)).map((c) => c.name), othersFilled: true };
}
