import { randomBytes } from 'node:crypto';
import {
  codeOf,
  scratchDir,
  TesseraError,
  type ListedObject,
  type ListingReader,
  type PipelineDef,
  type QueryCursor,
  type QueryReader,
  type SourceDef,
} from '@tessera/core';
import { createWriteStream } from 'node:fs';
import { basename, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { formatOf, mediaStoreFor, readRows } from '@tessera/connectors';
import type { SourceStates, CatalogTable, PageCommit, PageWrite, Row, SourceRun } from '@tessera/store';
import type { Engine } from '../engine';
import { emitSourceRun, type SourceRunReport } from './source-events';

export interface RunSourceOptions {
  /** `schedule` (a tick) or `manual` (`tessera backfill`) */
  trigger?: string;
  /** the scheduler's job id, recorded on the run */
  tick?: string;
  /** ingest everything again: every file as changed, the query from its first row */
  full?: boolean;
  /** SQL sources: read from this watermark value (inclusive) instead of the committed one */
  from?: string;
  /** after each committed page */
  onPage?: (run: { pages: number; inserted: number; updated: number; deleted: number; rejected: number }) => void | Promise<void>;
}

/** The source as declared in the pipeline code. */
export function sourceOf(def: PipelineDef, name: string): SourceDef {
  const src = def.sources?.find((s) => s.name === name);
  if (!src)
    throw new TesseraError(
      'E_UNKNOWN_SOURCE',
      `pipeline ${def.name} declares no source ${name} (its sources: ${def.sources?.map((s) => s.name).join(', ') || 'none'})`,
    );
  return src;
}

/**
 * Run a source once: take its run lock (a run already going elsewhere makes this a skip), resume
 * its unfinished run or start one from the committed watermark, and commit page after page, each
 * with its watermark or files in the same transaction as its rows, enqueueing each page's versions.
 * A failure is recorded on the run and the watermark stays at the last committed page: the next
 * tick goes on from there.
 */
export async function runSource(engine: Engine, def: PipelineDef, name: string, opts: RunSourceOptions = {}): Promise<SourceRunReport> {
  const src = sourceOf(def, name);
  const states = engine.store.sources;
  const trigger = opts.trigger ?? 'manual';
  const started = Date.now();
  const report = (r: Partial<SourceRunReport> & Pick<SourceRunReport, 'status'>): SourceRunReport => {
    const out: SourceRunReport = {
      pipeline: def.name,
      source: name,
      runId: null,
      trigger,
      resumed: false,
      pages: 0,
      inserted: 0,
      updated: 0,
      deleted: 0,
      rejected: 0,
      durationMs: Date.now() - started,
      ...r,
    };
    emitSourceRun(out);
    return out;
  };
  if (opts.from !== undefined && src.reader.kind !== 'query')
    throw new TesseraError('E_SOURCE', `source ${name} lists files: --from applies to SQL sources (use --full to ingest every file again)`);
  if (trigger === 'schedule' && (await states.get(def.name, name)).paused) {
    // a tick queued before the pause: nothing to do (checked again under the lock)
    await states.recordSkipped(def.name, name, { trigger, ...(opts.tick ? { tick: opts.tick } : {}), reason: 'paused' });
    return report({ status: 'skipped', error: 'paused' });
  }
  const unlock = await engine.store.sources.tryRunLock(def.name, name);
  if (!unlock) {
    await states.recordSkipped(def.name, name, { trigger, ...(opts.tick ? { tick: opts.tick } : {}), reason: 'a run of this source is in progress' });
    return report({ status: 'skipped', error: 'a run of this source is in progress' });
  }
  let run: SourceRun | undefined;
  const owner = randomBytes(8).toString('hex');
  try {
    const info = await states.get(def.name, name);
    if (trigger === 'schedule' && info.paused) {
      await states.recordSkipped(def.name, name, { trigger, ...(opts.tick ? { tick: opts.tick } : {}), reason: 'paused' });
      return report({ status: 'skipped', error: 'paused' });
    }
    const begun = await states.beginRun(def.name, name, {
      trigger,
      owner,
      ...(opts.tick ? { tick: opts.tick } : {}),
      ...(opts.full ? { full: true } : {}),
      ...(opts.from !== undefined ? { from: { watermark: opts.from, key: [], inclusive: true } satisfies QueryCursor } : {}),
    });
    run = begun.run;
    const table = await engine.store.table(def.name, src.table);
    const ctx: PageContext = {
      engine,
      def,
      src,
      states,
      table,
      run: { id: run.id, owner },
      totals: { pages: 0, inserted: 0, updated: 0, deleted: 0, rejected: 0 },
      opts,
    };
    try {
      if (src.reader.kind === 'query') await runQuery(ctx, src.reader, run.position as QueryCursor | null);
      else await runListing(ctx, src.reader, run);
    } finally {
      await src.reader.close?.();
    }
    const done = await states.finishRun(ctx.run, { status: 'done' });
    return report({ status: 'done', runId: run.id, resumed: begun.resumed, ...totalsOf(done) });
  } catch (e) {
    const message = (e as Error).message;
    const failed = run ? await states.finishRun({ id: run.id, owner }, { status: 'failed', error: message }).catch(() => null) : null;
    return report({ status: 'failed', runId: run?.id ?? null, error: message, ...totalsOf(failed) });
  } finally {
    await unlock();
  }
}

const totalsOf = (r: SourceRun | null) => (r ? { pages: r.pages, inserted: r.inserted, updated: r.updated, deleted: r.deleted, rejected: r.rejected } : {});

interface PageContext {
  engine: Engine;
  def: PipelineDef;
  src: SourceDef;
  states: SourceStates;
  table: CatalogTable;
  run: { id: number; owner: string };
  totals: { pages: number; inserted: number; updated: number; deleted: number; rejected: number };
  opts: RunSourceOptions;
}

/** Commit a page, then enqueue the work of the versions it made (as the engine's own writes do). */
async function commit(ctx: PageContext, page: Omit<PageCommit, 'table'>, gone: string[] = []): Promise<PageWrite> {
  const w = await ctx.states.commitPage(ctx.def.name, ctx.src.name, ctx.run, { ...page, table: ctx.src.table }, gone);
  for (const v of w.versions) {
    const derived = v.derived.length ? { derived: v.derived } : {};
    await ctx.engine.enqueue(ctx.def.name, ctx.src.table, v.version, v.kind === 'delete' ? { columns: [], ...derived } : { vMin: v.version, ...derived });
  }
  const t = ctx.totals;
  t.pages++;
  t.inserted += w.inserted;
  t.updated += w.updated;
  t.deleted += w.deleted;
  t.rejected += w.rejected.length;
  await ctx.opts.onPage?.({ ...t });
  return w;
}

const keyColumns = (table: CatalogTable) => table.columns.filter((c) => c.type.primaryKey).map((c) => c.name);
const keyOf = (table: CatalogTable, row: Row): Row => Object.fromEntries(keyColumns(table).map((k) => [k, row[k]]));

/** An item (file or row) as a row of the table: through `map`, or its fields that are columns of the table. */
async function toRow(ctx: PageContext, item: unknown): Promise<Row | null> {
  if (ctx.src.map) return ctx.src.map(item);
  const writable = new Set(ctx.table.columns.filter((c) => !c.computed).map((c) => c.name));
  return Object.fromEntries(Object.entries(item as Row).filter(([k]) => writable.has(k)));
}

const problem = (what: string, e: unknown) => `${what}: ${(e as Error)?.message ?? String(e)}`;

/** A SQL source: pages after the cursor, each committed with the cursor it ends at, until a page comes back empty. */
async function runQuery(ctx: PageContext, reader: QueryReader, from: QueryCursor | null): Promise<void> {
  let cursor = from;
  for (;;) {
    const page = await reader.page(cursor, ctx.src.pageSize);
    if (!page.rows.length) return;
    const upserts: Row[] = [];
    const described: string[] = [];
    const deletes: Row[] = [];
    const problems: string[] = [];
    for (const raw of page.rows) {
      const what = `row ${JSON.stringify(raw, (_k, v) => (typeof v === 'bigint' ? v.toString() : v)).slice(0, 120)}`;
      try {
        const row = await toRow(ctx, raw);
        if (!row) continue;
        const flag = reader.deletedColumn ? raw[reader.deletedColumn] : null;
        if (flag !== null && flag !== undefined && flag !== false && flag !== 0) deletes.push(keyOf(ctx.table, row));
        else {
          upserts.push(row);
          described.push(what);
        }
      } catch (e) {
        problems.push(problem(what, e));
      }
    }
    await commit(ctx, { upserts, deletes, describe: (i) => described[i]!, position: page.cursor, watermark: page.cursor, problems });
    cursor = page.cursor;
  }
}

/**
 * A folder or bucket prefix: each page of the listing is compared with the fingerprints recorded
 * for its keys; new and changed files are ingested and recorded in the same transaction. After a
 * complete listing, files no longer there have their rows deleted (with `deletes`).
 */
async function runListing(ctx: PageContext, reader: ListingReader, run: SourceRun): Promise<void> {
  const startAfter = !run.full && typeof run.position === 'string' ? run.position : undefined;
  let position: string | null = typeof run.position === 'string' ? run.position : null;
  for await (const page of reader.list({ pageSize: ctx.src.pageSize, ...(startAfter ? { startAfter } : {}) })) {
    const seen = await ctx.states.fingerprints(
      ctx.def.name,
      ctx.src.name,
      page.map((o) => o.key),
    );
    const changed = run.full ? page : page.filter((o) => seen.get(o.key) !== o.fingerprint);
    // with deletes, unchanged files are recorded as seen by this run too (what no run saw is gone)
    const unchanged = ctx.src.deletes ? page.filter((o) => !changed.includes(o)).map((o) => ({ key: o.key, fingerprint: o.fingerprint })) : [];
    if (reader.rows) {
      await ingestFileRows(ctx, changed, position);
      position = page.at(-1)!.key;
      // nothing new in this page: its position is committed all the same, so a resumed run starts after it
      if (!changed.length) await commit(ctx, { upserts: [], deletes: [], describe: () => '', position });
    } else {
      const upserts: Row[] = [];
      const described: string[] = [];
      const items: NonNullable<PageCommit['items']> = [...unchanged];
      const problems: string[] = [];
      for (const o of changed) {
        try {
          const row = await toRow(ctx, o);
          if (row) {
            upserts.push(row);
            described.push(`file ${o.key}`);
          }
          items.push({ key: o.key, fingerprint: o.fingerprint, rowKey: row ? keyOf(ctx.table, row) : null });
        } catch (e) {
          // recorded with its fingerprint: it is tried again when it changes (or with --full)
          problems.push(problem(`file ${o.key}`, e));
          items.push({ key: o.key, fingerprint: o.fingerprint, rowKey: null });
        }
      }
      position = page.at(-1)!.key;
      await commit(ctx, { upserts, deletes: [], describe: (i) => described[i]!, items, position, problems });
    }
  }
  if (ctx.src.deletes) {
    for (;;) {
      const gone = await ctx.states.goneItems(ctx.def.name, ctx.src.name, run.id, 500);
      if (!gone.length) break;
      await commit(
        ctx,
        { upserts: [], deletes: gone.flatMap((g) => (g.rowKey ? [g.rowKey] : [])), describe: () => '', position },
        gone.map((g) => g.key),
      );
    }
  }
}

/**
 * Files read as tables: each file's rows in pages (typed for the table by the import readers),
 * its fingerprint recorded with its last page; a file that does not fit is named on the run and
 * recorded, so it is not read again until it changes.
 */
async function ingestFileRows(ctx: PageContext, files: ListedObject[], position: string | null): Promise<void> {
  const columns = ctx.table.columns.filter((c) => !c.computed).map((c) => ({ name: c.name, type: c.type }));
  for (const file of files) {
    let index = 0;
    // read once, from a copy of its own: a dump read as rows need not take room in the workers' media cache
    const local = await freshCopy(file.url);
    try {
      for await (const rows of readRows(local.path, columns, { batchSize: ctx.src.pageSize, format: formatOf(file.key) ?? 'jsonl' })) {
        const base = index;
        await commit(ctx, { upserts: rows, deletes: [], describe: (i) => `${file.key} row ${base + i + 1}`, position });
        index += rows.length;
      }
      await commit(ctx, { upserts: [], deletes: [], describe: () => '', items: [{ key: file.key, fingerprint: file.fingerprint }], position: file.key });
    } catch (e) {
      if (codeOf(e) !== 'E_IMPORT') throw e; // a superseded run, the store down: the run stops
      const message = (e as Error).message.split(local.path).join(file.url);
      await commit(ctx, {
        upserts: [],
        deletes: [],
        describe: () => '',
        items: [{ key: file.key, fingerprint: file.fingerprint }],
        position: file.key,
        problems: [message],
      });
    } finally {
      await local.remove();
    }
  }
}

/** A local path holding the object's current bytes: the file itself when local, else a temporary download. */
async function freshCopy(url: string): Promise<{ path: string; remove: () => Promise<void> }> {
  if (isAbsolute(url)) return { path: url, remove: async () => undefined };
  const dir = await scratchDir('source');
  const file = join(dir.path, basename(new URL(url).pathname) || 'object');
  await pipeline(await mediaStoreFor(url).get(url), createWriteStream(file));
  return { path: file, remove: dir.dispose };
}
