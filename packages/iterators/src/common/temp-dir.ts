import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A private scratch directory; `dispose` removes it (call it in a finally). */
export async function tempDir(prefix: string): Promise<{ path: string; dispose: () => Promise<void> }> {
  const path = await mkdtemp(join(process.env.TESSERA_TMPDIR || tmpdir(), `tessera-${prefix}-`));
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}
