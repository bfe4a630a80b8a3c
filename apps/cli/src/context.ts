import { stat } from 'node:fs/promises';
import { Engine, loadConfig, loadPipelines, type TesseraConfig } from '@tessera/runtime';
import type { PipelineDef } from '@tessera/core';

/** What every command needs: configuration, and (lazily) an engine and the pipelines' code. */
export class CliContext {
  private engineP?: Promise<Engine>;
  constructor(readonly config: TesseraConfig = loadConfig()) {}

  engine(): Promise<Engine> {
    this.engineP ??= Engine.connect(this.config);
    return this.engineP;
  }

  /**
   * The engine, knowing the pipeline's code when it can be loaded, so writes are checked against
   * its JSON schemas too (the catalog holds only the types).
   */
  async engineFor(pipeline: string): Promise<Engine> {
    const engine = await this.engine();
    const def = await this.pipeline(pipeline).catch(() => undefined);
    if (def) engine.define(def);
    return engine;
  }

  /** A pipeline by name (from TESSERA_PIPELINES) or by the path of its module. */
  async pipeline(ref: string): Promise<PipelineDef> {
    if (await stat(ref).catch(() => null)) {
      const [def] = await loadPipelines(ref);
      if (def) return def;
    }
    const defs = await loadPipelines(this.config.pipelines);
    const def = defs.find((d) => d.name === ref);
    if (!def) throw new Error(`no pipeline named ${ref} in ${this.config.pipelines} (found: ${defs.map((d) => d.name).join(', ') || 'none'})`);
    return def;
  }

  async close(): Promise<void> {
    if (this.engineP) await (await this.engineP).close();
  }
}
