import { columnsOf, type PipelineDef } from '@tessera/core';
import type { Engine } from '@tessera/runtime';
import type { ProgressTracker } from './progress';

export interface ColumnView {
  name: string;
  kind: string;
  computed: boolean;
  udfs: string[];
  queue: string | null;
  /** columns this one reads (`table.column`) */
  inputs: string[];
  done: number;
  pending: number;
  failed: number;
  rate: number | null;
  etaSeconds: number | null;
  usage: Record<string, number>;
}

export interface TableView {
  name: string;
  kind: 'table' | 'view';
  base: string | null;
  iterator: string | null;
  version: number;
  rows: number;
  columns: ColumnView[];
  /** export sinks fed by this table (from the pipeline code this process loaded) */
  exports: Array<{ sink: string; columns: string[] }>;
}

export interface PipelineView {
  name: string;
  tables: TableView[];
}

/** Every pipeline of the catalog, its tables and views, and each column's progress, lineage and model usage. */
export async function snapshot(engine: Engine, progress: ProgressTracker, code: ReadonlyMap<string, PipelineDef>): Promise<PipelineView[]> {
  const out: PipelineView[] = [];
  for (const pipeline of await engine.store.pipelines()) {
    const tables = await engine.store.tables(pipeline);
    const byId = new Map(tables.map((t) => [t.id, t.name]));
    const def = code.get(pipeline);
    const views: TableView[] = [];
    for (const t of tables) {
      const [status, usage] = await Promise.all([engine.store.status(pipeline, t.name), engine.store.usage(pipeline, t.name)]);
      const counts = new Map(status.columns.map((c) => [c.column, c]));
      views.push({
        name: t.name,
        kind: t.kind,
        base: t.baseId === null ? null : (byId.get(t.baseId) ?? null),
        iterator: t.iterator ? `${t.iterator.name}@${t.iterator.version}(${t.iterator.input})` : null,
        version: t.version,
        rows: status.rows,
        columns: t.columns.map((c) => {
          const n = counts.get(c.name);
          const eta = n ? progress.observe(`${pipeline}.${t.name}.${c.name}`, n.done + n.failed, n.pending) : { rate: null, etaSeconds: null };
          return {
            name: c.name,
            kind: c.type.kind,
            computed: !!c.computed,
            udfs: c.computed?.udfs ?? [],
            queue: c.computed?.queue ?? null,
            inputs: c.computed ? [...new Set(columnsOf(c.computed.expr).map((r) => `${r.table}.${r.column}`))] : [],
            done: n?.done ?? status.rows,
            pending: n?.pending ?? 0,
            failed: n?.failed ?? 0,
            ...eta,
            usage: usage[c.name] ?? {},
          };
        }),
        exports: (def?.exports ?? []).filter((e) => e.source === t.name).map((e) => ({ sink: e.sink.name, columns: e.columns })),
      });
    }
    out.push({ name: pipeline, tables: views });
  }
  return out;
}
