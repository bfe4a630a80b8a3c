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
