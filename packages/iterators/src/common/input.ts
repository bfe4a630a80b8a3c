import { stat } from 'node:fs/promises';
import { CellInputError, TesseraError, type IteratorContext } from '@tessera/core';

/** Short, human name of a media reference for error messages (the URL or path as given). */
export function describeRef(ref: string): string {
  return ref.length > 200 ? `${ref.slice(0, 197)}...` : ref;
}

/** A CellInputError that always names the file and the cause. */
export function inputError(ref: string, cause: string, details: Record<string, unknown> = {}): CellInputError {
  return new CellInputError(`${describeRef(ref)}: ${cause}`, { file: ref, ...details });
}

/**
 * Resolve a media reference to a local regular file. Tessera errors from the media layer
 * (already cell or transient errors) pass through; a missing or unreadable file becomes a cell error.
 */
export async function localFile(ctx: Pick<IteratorContext, 'media'>, ref: string): Promise<string> {
  let path: string;
  try {
    path = await ctx.media.localPath(ref);
  } catch (e) {
    if (e instanceof TesseraError) throw e;
    throw inputError(ref, `cannot be read (${(e as Error).message})`);
  }
  try {
    const s = await stat(path);
    if (!s.isFile()) throw inputError(ref, 'is not a regular file');
  } catch (e) {
    if (e instanceof CellInputError) throw e;
    throw inputError(ref, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return path;
}

/** The extension (lower case, without dot) of a URL or path, ignoring query and fragment. */
export function extensionOf(ref: string): string {
  const clean = ref.replace(/[?#].*$/, '');
  const base = clean.slice(clean.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(dot + 1).toLowerCase() : '';
}
