import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * A temp directory of the test file's own (`<tmp>/<prefix>XXXXXX`), removed after its last test.
 * Call it at the top level of the test file (it registers the `afterAll` that removes it).
 */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  afterAll(() => rm(dir, { recursive: true, force: true }));
  return dir;
}
