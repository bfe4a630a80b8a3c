import path from 'node:path';
import { Engine, PipelineRegistry, WorkerPool, loadPipelines, type TesseraConfig } from '@tessera/runtime';
import { createMediaContext } from '@tessera/connectors';
import { testConfig, testMediaPolicy } from './env';
import { cleanup } from './cleanup';

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
        media: createMediaContext({ defaultDestination: cfg.mediaDestination, cacheDir: cfg.cacheDir, policy: testMediaPolicy(cfg.env) }),
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

export function makeItems(n: number, from = 0) {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { id: `item-${String(i).padStart(6, '0')}`, text: `row ${i} says hello world ${i % 5}`, n: i, meta: i % 3 === 0 ? null : { tag: `t${i % 4}` } };
  });
}
