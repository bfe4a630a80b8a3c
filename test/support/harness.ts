import path from 'node:path';
import { Engine, PipelineRegistry, WorkerPool, loadPipelines, type TesseraConfig } from '@tessera/runtime';
import { testConfig } from './env';
import { cleanup } from './cleanup';
import { testMediaContext } from './media';

export const SHAPES = path.resolve(import.meta.dirname, '../pipelines/shapes');

/** An engine plus in-process workers over a fresh schema and queue prefix. */
export async function startHarness(pipelines = SHAPES, overrides: Record<string, string> = {}) {
  const cfg = testConfig({ TESSERA_PIPELINES: pipelines, ...overrides });
  const defs = await loadPipelines(pipelines);
  const engine = await Engine.connect(cfg);
  const registry = new PipelineRegistry(defs);
  let pool: WorkerPool | undefined;
  return {
    cfg,
    engine,
    registry,
    defs,
    def: defs[0]!,
    async startWorkers() {
      pool = await WorkerPool.start({
        engine,
        registry,
        media: testMediaContext(cfg),
      });
      return pool;
    },
    async stopWorkers() {
      await pool?.close();
      pool = undefined;
    },
    async close(keep = false) {
      await pool?.close();
      await engine.close();
      if (!keep) await cleanup(cfg as TesseraConfig);
    },
  };
}

export type Harness = Awaited<ReturnType<typeof startHarness>>;

/** A harness with its (first) pipeline applied and in-process workers computing it. */
export async function runPipeline(pipelines = SHAPES, overrides: Record<string, string> = {}): Promise<Harness> {
  const h = await startHarness(pipelines, overrides);
  await h.engine.apply(h.def);
  await h.startWorkers();
  return h;
}

/** Rows for the shapes pipeline: every third has null meta, every seventh fails its `ratio` cell. */
export function makeItems(n: number, from = 0) {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { id: `item-${String(i).padStart(6, '0')}`, text: `row ${i} says hello world ${i % 5}`, n: i, meta: i % 3 === 0 ? null : { tag: `t${i % 4}` } };
  });
}
