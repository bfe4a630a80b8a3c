import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { importPipelineModule } from './import-pipeline-module';
import { TesseraError, type IteratorCall, type PipelineDef, type Udf } from '@tessera/core';

/** The pipelines (and so the UDF code) this process has loaded. */
export class PipelineRegistry {
  private readonly byName = new Map<string, PipelineDef>();

  constructor(defs: PipelineDef[] = []) {
    defs.forEach((d) => this.add(d));
  }

  add(def: PipelineDef): void {
    this.byName.set(def.name, def);
  }

  get(name: string): PipelineDef {
    const def = this.byName.get(name);
    if (!def)
      throw new TesseraError('E_UNKNOWN_PIPELINE', `pipeline ${name} is not loaded in this process (loaded: ${[...this.byName.keys()].join(', ') || 'none'})`);
    return def;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  all(): PipelineDef[] {
    return [...this.byName.values()];
  }

  /** The iterator (code and parameters) this process has for a view of a pipeline. */
  iterator(pipeline: string, view: string): IteratorCall {
    const call = this.get(pipeline).tables.find((t) => t.name === view)?.iterator;
    if (!call)
      throw new TesseraError('E_UNKNOWN_VIEW', `pipeline ${pipeline} as loaded in this process has no view ${view}; deploy the pipeline code that declares it`);
    return call;
  }

  /** The UDFs this process has for a pipeline, by `name@version`. */
  udfs(pipeline: string): ReadonlyMap<string, Udf> {
    return this.get(pipeline).udfs;
  }
}

/**
 * Load pipeline modules: a directory holding `<name>/index.ts` folders, a single module file, or a
 * comma-separated list of either. Each module's default export is a pipeline definition.
 */
export async function loadPipelines(spec: string, cwd = process.cwd()): Promise<PipelineDef[]> {
  const defs: PipelineDef[] = [];
  for (const entry of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const abs = path.resolve(cwd, entry);
    const st = await stat(abs).catch(() => null);
    if (!st) throw new TesseraError('E_PIPELINES', `pipelines path ${abs} does not exist (set TESSERA_PIPELINES)`);
    const files: string[] = [];
    if (st.isDirectory()) {
      const index = await findIndex(abs);
      if (index) files.push(index);
      else {
        for (const d of (await readdir(abs, { withFileTypes: true })).filter((d) => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
          const f = await findIndex(path.join(abs, d.name));
          if (f) files.push(f);
        }
      }
    } else files.push(abs);
    for (const f of files) {
      const mod = (await importPipelineModule(f)) as { default?: PipelineDef };
      const def = mod.default;
      if (!def || typeof def !== 'object' || !('tables' in def))
        throw new TesseraError('E_PIPELINES', `${f}: the default export is not a pipeline (use export default definePipeline(...))`);
      defs.push(def);
    }
  }
  return defs;
}

async function findIndex(dir: string): Promise<string | null> {
  for (const n of ['index.ts', 'index.js', 'index.mjs']) {
    const f = path.join(dir, n);
    if (await stat(f).catch(() => null)) return f;
  }
  return null;
}
