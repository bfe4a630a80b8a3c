import { copyFile, mkdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * Copy a file into the demo's data folder unless the same file (same size) is already there. The
 * demo reads media only from its data folder, so a worker confined to the project's data roots can
 * read every input (files found elsewhere on the machine are copied in, never referenced in place).
 */
export async function copyInto(src: string, dest: string): Promise<string> {
  const [from, to] = await Promise.all([stat(src), stat(dest).catch(() => null)]);
  if (to && to.size === from.size) return dest;
  await mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.part`;
  await copyFile(src, tmp);
  await rename(tmp, dest);
  return dest;
}

export const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );
