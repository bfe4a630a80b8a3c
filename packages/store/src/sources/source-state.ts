import type pg from 'pg';
import { TesseraError, type Schedule } from '@tessera/core';
import { withTx } from '../db';
import { loadTable } from '../catalog';
import { ident } from '../sql';
import type { Row } from '../rows';
import { writeSourcePage, type PageWrite } from './write-page';
import { tryRunLock } from './run-lock';

/** A source as the catalog knows it (from the last apply), with its last run. */
export interface SourceInfo {
  pipeline: string;
  name: string;
  table: string;
  kind: 'listing' | 'query';
  description: string;
  schedule: Schedule | null;
  paused: boolean;
  /** SQL sources: the cursor committed with the last page (null before the first) */
  watermark: unknown;
  /** listing sources: files and objects seen so far */
  items: number;
  lastRun: SourceRun | null;
}

export interface SourceRun {
  id: number;
  pipeline: string;
  name: string;
  trigger: string;
  /** the scheduler tick (job id) that started it */
  tick: string | null;
  full: boolean;
  status: 'running' | 'done' | 'failed' | 'skipped' | 'abandoned';
  startedAt: Date;
  finishedAt: Date | null;
  /** where it started and how far it has committed (SQL: a cursor; listing: the last key) */
  from: unknown;
  position: unknown;
  pages: number;
  inserted: number;
  updated: number;
  deleted: number;
  rejected: number;
  /** the first rejected items, each with its problem */
  problems: string[];
  error: string | null;
}

export interface SourceSpec {
  name: string;
  table: string;
  kind: 'listing' | 'query';
  description: string;
  schedule: Schedule | null;
}

export interface PageCommit {
  table: string;
  upserts: Row[];
  deletes: Row[];
  /** what each upsert came from, for messages about rows that do not fit */
  describe: (i: number) => string;
  /** listing sources: the files of the page, with the key of the row each produced (for deletes) */
  items?: Array<{ key: string; fingerprint: string; rowKey?: Row | null }>;
  /** the run's position after this page */
  position: unknown;
  /** SQL sources: the watermark after this page (committed with the rows) */
  watermark?: unknown;
  /** items that failed before reaching the table (a map that threw, an unreadable file) */
  problems?: string[];
}

/** A run whose place was taken (the source was run again with --full, or its state was removed). */
export class RunSupersededError extends TesseraError {
  constructor(runId: number) {
    super('E_RUN_SUPERSEDED', `source run ${runId} is no longer the source's active run; stopping`);
    this.name = 'RunSupersededError';
  }
}

const MAX_PROBLEMS = 20;

/**
 * The record of scheduled backfills: sources, their runs and watermarks, and the files listing
 * sources have seen. A page's rows, its watermark (or its files' fingerprints) and the run's
 * position commit in one transaction, so a crash loses at most the page in flight and never
 * writes a row twice.
 */
export class SourceStates {
  private readonly s: string;
  constructor(
    private readonly pool: pg.Pool,
    private readonly schema: string,
  ) {
    this.s = ident(schema);
  }

  /** At most one run of a source at a time, fleet-wide (see tryRunLock): the release, or null when another run holds it. */
  tryRunLock(pipeline: string, source: string): Promise<(() => Promise<void>) | null> {
    return tryRunLock(this.pool, this.schema, pipeline, source);
  }

  /** Record the sources a pipeline declares; forget those it no longer does. Returns the removed names. */
  async sync(pipeline: string, specs: SourceSpec[]): Promise<string[]> {
    return withTx(this.pool, async (c) => {
      for (const sp of specs) {
        await c.query(
          `INSERT INTO ${this.s}.sources (pipeline, name, table_name, kind, description, schedule) VALUES ($1, $2, $3, $4, $5, $6)
           ON CONFLICT (pipeline, name) DO UPDATE SET table_name = EXCLUDED.table_name, kind = EXCLUDED.kind, description = EXCLUDED.description, schedule = EXCLUDED.schedule,
             watermark = CASE WHEN sources.kind = EXCLUDED.kind AND sources.description = EXCLUDED.description THEN sources.watermark END`,
          [pipeline, sp.name, sp.table, sp.kind, sp.description, sp.schedule ? JSON.stringify(sp.schedule) : null],
        );
      }
      const names = specs.map((sp) => sp.name);
      const { rows } = await c.query(`DELETE FROM ${this.s}.sources WHERE pipeline = $1 AND name <> ALL($2::text[]) RETURNING name`, [pipeline, names]);
      await c.query(`DELETE FROM ${this.s}.source_items WHERE pipeline = $1 AND name <> ALL($2::text[])`, [pipeline, names]);
      await c.query(
        `UPDATE ${this.s}.source_runs SET status = 'abandoned', finished_at = clock_timestamp(), error = 'source removed' WHERE pipeline = $1 AND name <> ALL($2::text[]) AND status = 'running'`,
        [pipeline, names],
      );
      return rows.map((r) => r.name as string);
    });
  }

  async list(pipeline?: string): Promise<SourceInfo[]> {
    const { rows } = await this.pool.query(
      `SELECT s.*, (SELECT count(*) FROM ${this.s}.source_items i WHERE i.pipeline = s.pipeline AND i.name = s.name) AS items,
              (SELECT to_jsonb(r) FROM ${this.s}.source_runs r WHERE r.pipeline = s.pipeline AND r.name = s.name AND r.status <> 'skipped' ORDER BY r.id DESC LIMIT 1) AS last_run
         FROM ${this.s}.sources s WHERE $1::text IS NULL OR s.pipeline = $1 ORDER BY s.pipeline, s.name`,
      [pipeline ?? null],
    );
    return rows.map((r) => ({
      pipeline: r.pipeline,
      name: r.name,
      table: r.table_name,
      kind: r.kind,
      description: r.description,
      schedule: r.schedule,
      paused: r.paused,
      watermark: r.watermark,
      items: Number(r.items),
      lastRun: r.last_run ? toRun(r.last_run) : null,
    }));
  }

  async get(pipeline: string, name: string): Promise<SourceInfo> {
    const found = (await this.list(pipeline)).find((s) => s.name === name);
    if (!found)
      throw new TesseraError(
        'E_UNKNOWN_SOURCE',
        `pipeline ${pipeline} has no source ${name} in the catalog (declare it with p.source(...) and run tessera apply ${pipeline})`,
      );
    return found;
  }

  async setPaused(pipeline: string, name: string, paused: boolean): Promise<SourceInfo> {
    await this.get(pipeline, name);
    await this.pool.query(`UPDATE ${this.s}.sources SET paused = $3 WHERE pipeline = $1 AND name = $2`, [pipeline, name, paused]);
    return this.get(pipeline, name);
  }

  /**
   * Start a run, or resume the source's unfinished one (a worker died halfway): it goes on from the
   * position its last page committed. `restart` (a run from another watermark, or --full) abandons
   * an unfinished run instead.
   */
  async beginRun(
    pipeline: string,
    name: string,
    opts: { trigger: string; tick?: string; owner: string; full?: boolean; from?: unknown },
  ): Promise<{ run: SourceRun; resumed: boolean }> {
    const restart = opts.full || opts.from !== undefined;
    return withTx(this.pool, async (c) => {
      const { rows } = await c.query(`SELECT * FROM ${this.s}.sources WHERE pipeline = $1 AND name = $2 FOR UPDATE`, [pipeline, name]);
      const src = rows[0];
      if (!src) throw new TesseraError('E_UNKNOWN_SOURCE', `pipeline ${pipeline} has no source ${name} in the catalog (run tessera apply ${pipeline})`);
      if (src.active_run !== null) {
        if (!restart) {
          const { rows: r } = await c.query(
            `UPDATE ${this.s}.source_runs SET owner = $2, tick = coalesce($3, tick) WHERE id = $1 AND status = 'running' RETURNING *`,
            [src.active_run, opts.owner, opts.tick ?? null],
          );
          if (r[0]) return { run: toRun(r[0]), resumed: true };
        } else {
          await c.query(
            `UPDATE ${this.s}.source_runs SET status = 'abandoned', finished_at = clock_timestamp(), error = 'replaced by a new run' WHERE id = $1 AND status = 'running'`,
            [src.active_run],
          );
        }
      }
      const from = opts.full ? null : opts.from !== undefined ? opts.from : src.watermark;
      const { rows: r } = await c.query(
        `INSERT INTO ${this.s}.source_runs (pipeline, name, trigger, tick, full_scan, from_position, position, owner) VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING *`,
        [pipeline, name, opts.trigger, opts.tick ?? null, !!opts.full, src.kind === 'query' ? JSON.stringify(from) : null, opts.owner],
      );
      await c.query(`UPDATE ${this.s}.sources SET active_run = $3 WHERE pipeline = $1 AND name = $2`, [pipeline, name, r[0].id]);
      return { run: toRun(r[0]), resumed: false };
    });
  }

  /** A tick that found the source paused or already running: recorded, so the history shows it. */
  async recordSkipped(pipeline: string, name: string, opts: { trigger: string; tick?: string; reason: string }): Promise<void> {
    await this.pool.query(
      `INSERT INTO ${this.s}.source_runs (pipeline, name, trigger, tick, status, finished_at, error) VALUES ($1, $2, $3, $4, 'skipped', clock_timestamp(), $5)`,
      [pipeline, name, opts.trigger, opts.tick ?? null, opts.reason],
    );
  }

  /** The fingerprints recorded for these keys (listing sources). */
  async fingerprints(pipeline: string, name: string, keys: string[]): Promise<Map<string, string>> {
    // one key probe each: as `key = ANY($3)` Postgres scans every item while the first listing of a
    // large bucket grows the table past its statistics, a page at a time
    const { rows } = await this.pool.query(
      `SELECT i.key, i.fingerprint FROM unnest($3::text[]) AS k(key),
         LATERAL (SELECT key, fingerprint FROM ${this.s}.source_items WHERE pipeline = $1 AND name = $2 AND key = k.key LIMIT 1) i`,
      [pipeline, name, keys],
    );
    return new Map(rows.map((r) => [r.key as string, r.fingerprint as string]));
  }

  /** Files seen before but not by this (complete) listing: gone from the source. */
  async goneItems(pipeline: string, name: string, runId: number, limit: number): Promise<Array<{ key: string; rowKey: Row | null }>> {
    const { rows } = await this.pool.query(
      `SELECT key, row_key FROM ${this.s}.source_items WHERE pipeline = $1 AND name = $2 AND seen_run <> $3 ORDER BY key LIMIT $4`,
      [pipeline, name, runId, limit],
    );
    return rows.map((r) => ({ key: r.key, rowKey: r.row_key }));
  }

  /**
   * Commit one page: its rows (by primary key) and deletes, the files it saw (listing) or the new
   * watermark (SQL), and the run's position and counts, in one transaction. Fails with
   * RunSupersededError, writing nothing, when the run is no longer the source's active run.
   */
  async commitPage(pipeline: string, name: string, run: { id: number; owner: string }, page: PageCommit, gone: string[] = []): Promise<PageWrite> {
    return withTx(this.pool, async (c) => {
      const { rows } = await c.query(
        `SELECT r.id FROM ${this.s}.sources s JOIN ${this.s}.source_runs r ON r.id = s.active_run
          WHERE s.pipeline = $1 AND s.name = $2 AND r.id = $3 AND r.owner = $4 AND r.status = 'running' FOR UPDATE OF s, r`,
        [pipeline, name, run.id, run.owner],
      );
      if (!rows[0]) throw new RunSupersededError(run.id);
      const table = await loadTable(c, this.schema, pipeline, page.table);
      const w = await writeSourcePage(c, this.schema, table, page.upserts, page.deletes, page.describe);
      if (page.items?.length) {
        await c.query(
          `INSERT INTO ${this.s}.source_items (pipeline, name, key, fingerprint, seen_run, row_key)
           SELECT $1, $2, i.key, i.fingerprint, $3, i.row_key FROM jsonb_to_recordset($4::jsonb) AS i(key text, fingerprint text, row_key jsonb)
           ON CONFLICT (pipeline, name, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, seen_run = EXCLUDED.seen_run, row_key = coalesce(EXCLUDED.row_key, source_items.row_key)`,
          [pipeline, name, run.id, JSON.stringify(page.items.map((i) => ({ key: i.key, fingerprint: i.fingerprint, row_key: i.rowKey ?? null })))],
        );
      }
      if (gone.length) await c.query(`DELETE FROM ${this.s}.source_items WHERE pipeline = $1 AND name = $2 AND key = ANY($3::text[])`, [pipeline, name, gone]);
      if (page.watermark !== undefined)
        await c.query(`UPDATE ${this.s}.sources SET watermark = $3 WHERE pipeline = $1 AND name = $2`, [pipeline, name, JSON.stringify(page.watermark)]);
      const problems = [...(page.problems ?? []), ...w.rejected];
      await c.query(
        `UPDATE ${this.s}.source_runs SET position = $2, pages = pages + 1, inserted = inserted + $3, updated = updated + $4, deleted = deleted + $5,
                rejected = rejected + $6, problems = CASE WHEN jsonb_array_length(problems) < ${MAX_PROBLEMS} THEN problems || $7::jsonb ELSE problems END
          WHERE id = $1`,
        [run.id, JSON.stringify(page.position ?? null), w.inserted, w.updated, w.deleted, problems.length, JSON.stringify(problems.slice(0, MAX_PROBLEMS))],
      );
      return { ...w, rejected: problems };
    });
  }

  /** End a run: done, or failed with its error (the watermark stays where the last page left it). */
  async finishRun(run: { id: number; owner: string }, outcome: { status: 'done' | 'failed'; error?: string }): Promise<SourceRun | null> {
    return withTx(this.pool, async (c) => {
      const { rows } = await c.query(
        `UPDATE ${this.s}.source_runs SET status = $3, error = $4, finished_at = clock_timestamp() WHERE id = $1 AND owner = $2 AND status = 'running' RETURNING *`,
        [run.id, run.owner, outcome.status, outcome.error ?? null],
      );
      if (!rows[0]) return null;
      await c.query(`UPDATE ${this.s}.sources SET active_run = NULL WHERE pipeline = $1 AND name = $2 AND active_run = $3`, [
        rows[0].pipeline,
        rows[0].name,
        run.id,
      ]);
      return toRun(rows[0]);
    });
  }

  async runs(pipeline: string, name: string, limit = 20): Promise<SourceRun[]> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.source_runs WHERE pipeline = $1 AND name = $2 ORDER BY id DESC LIMIT $3`, [
      pipeline,
      name,
      limit,
    ]);
    return rows.map(toRun);
  }

  async run(id: number): Promise<SourceRun | null> {
    const { rows } = await this.pool.query(`SELECT * FROM ${this.s}.source_runs WHERE id = $1`, [id]);
    return rows[0] ? toRun(rows[0]) : null;
  }
}

function toRun(r: Record<string, any>): SourceRun {
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return {
    id: Number(r.id),
    pipeline: r.pipeline,
    name: r.name,
    trigger: r.trigger,
    tick: r.tick ?? null,
    full: !!r.full_scan,
    status: r.status,
    startedAt: date(r.started_at)!,
    finishedAt: date(r.finished_at),
    from: r.from_position ?? null,
    position: r.position ?? null,
    pages: Number(r.pages),
    inserted: Number(r.inserted),
    updated: Number(r.updated),
    deleted: Number(r.deleted),
    rejected: Number(r.rejected),
    problems: r.problems ?? [],
    error: r.error ?? null,
  };
}
