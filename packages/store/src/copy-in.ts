import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** About this much text per write: large enough to be cheap, small enough to keep both sides busy. */
const WRITE_BYTES = 256 * 1024;

/**
 * Run `COPY ... FROM STDIN` (text format) with the given text, in parts of whole lines (each
 * ending in a newline), written as they are produced: Postgres parses and stores one part while this process encodes the next,
 * so the two overlap on separate cores. A failure of the COPY (a value Postgres refuses, a broken
 * connection) is thrown with Postgres' own error, and an error thrown by `lines` as it is; the
 * caller's transaction is then aborted.
 */
export async function copyIn(c: pg.PoolClient, sql: string, lines: Iterable<string>): Promise<void> {
  const stream = c.query(copyFrom(sql));
  let failed: Error | undefined;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('finish', resolve);
    stream.on('error', (e: Error) => {
      failed = e;
      reject(e);
    });
  });
  done.catch(() => undefined); // observed below; a failure before then must not be unhandled
  try {
    let part = '';
    for (const line of lines) {
      part += line;
      if (part.length < WRITE_BYTES) continue;
      if (failed) throw failed;
      if (!stream.write(part)) await drained(stream);
      part = '';
    }
    if (failed) throw failed;
    stream.end(part);
  } catch (e) {
    // the COPY's failure, or the lines' own (a row refused while they were produced): the COPY is
    // cancelled either way, and the error thrown is the one that stopped it
    stream.destroy(e as Error);
    await done.catch(() => undefined);
    throw e;
  }
  await done;
}

/** Wait for the stream to drain, or to fail (the failure surfaces through the COPY's own promise). */
function drained(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise<void>((resolve) => {
    const settle = () => {
      stream.removeListener('drain', settle);
      stream.removeListener('error', settle);
      resolve();
    };
    stream.on('drain', settle);
    stream.on('error', settle);
  });
}
