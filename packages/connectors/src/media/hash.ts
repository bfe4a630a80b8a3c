import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** sha256 of a file, streamed so large media never sits in memory. */
export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}
