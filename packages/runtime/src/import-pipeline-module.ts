import { pathToFileURL } from 'node:url';
import { TesseraError } from '@tessera/core';

let tsLoader: Promise<void> | undefined;

/**
 * Import a pipeline module. Pipelines are TypeScript the operator writes; the compiled worker and
 * CLI run plain Node, so before the first `.ts` module tsx's loader is registered in this process
 * (a no-op cost for `.js` pipelines, and harmless when the process already runs under tsx).
 * Pipelines compiled to JavaScript need no loader at all.
 */
export async function importPipelineModule(file: string): Promise<unknown> {
  if (/\.[cm]?tsx?$/.test(file) && !runsUnderTsx()) await (tsLoader ??= registerTsx());
  return import(pathToFileURL(file).href);
}

function runsUnderTsx(): boolean {
  return [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => /\btsx\b/.test(a)) || /\btsx\b/.test(process.argv[1] ?? '');
}

async function registerTsx(): Promise<void> {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch (e) {
    tsLoader = undefined;
    throw new TesseraError('E_PIPELINES', `loading TypeScript pipelines needs the tsx package (npm install tsx), or compile the pipelines to JavaScript: ${(e as Error).message}`);
  }
}
