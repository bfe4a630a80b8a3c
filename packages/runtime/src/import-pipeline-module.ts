import { pathToFileURL } from 'node:url';
import { TesseraError } from '@tessera/core';

let tsLoader: Promise<void> | undefined;

/** what Node says when it cannot run a TypeScript file by itself (or, type-stripping, its imports) */
const NEEDS_LOADER = new Set([
  'ERR_UNKNOWN_FILE_EXTENSION',
  'ERR_MODULE_NOT_FOUND',
  'ERR_UNSUPPORTED_TYPESCRIPT_SYNTAX',
  'ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING',
]);

/**
 * Import a pipeline module. Pipelines are TypeScript the operator writes; the compiled worker and
 * CLI run plain Node. The module is imported as it is first (JavaScript, a process already under
 * tsx or jest, Node 24's type stripping); when Node cannot run it, tsx's loader is registered in
 * this process once and the module imported again through it.
 */
export async function importPipelineModule(file: string): Promise<unknown> {
  const url = pathToFileURL(file).href;
  try {
    return await import(url);
  } catch (e) {
    if (!/\.[cm]?tsx?$/.test(file) || !NEEDS_LOADER.has((e as { code?: string }).code ?? '')) throw e;
  }
  await (tsLoader ??= registerTsx());
  // a new URL: the failed attempt stays in the module cache under the plain one
  return import(`${url}?tsx`);
}

async function registerTsx(): Promise<void> {
  try {
    const { register } = await import('tsx/esm/api');
    register();
  } catch (e) {
    tsLoader = undefined;
    throw new TesseraError(
      'E_PIPELINES',
      `loading TypeScript pipelines needs the tsx package (npm install tsx), or compile the pipelines to JavaScript: ${(e as Error).message}`,
    );
  }
}
