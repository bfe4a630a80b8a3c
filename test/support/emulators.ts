import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { freePort } from './faults/free-port';

const require = createRequire(import.meta.url);

interface S3Event {
  Records: Array<{ eventName: string; s3: { object: { key: string } } }>;
}

/**
 * s3rver, in process on a free port, with the buckets asked for. `events` records each object
 * written: `ObjectCreated:Put <key>` for a single PUT, `ObjectCreated:Post <key>` for a completed multipart upload.
 */
export async function startS3(buckets: string[]): Promise<{ endpoint: string; events: string[]; close(): Promise<void> }> {
  // s3rver ships no types; its API is a constructor, run(), close() and 'event' notifications
  const S3rver = require('s3rver') as new (
    opts: Record<string, unknown>,
  ) => {
    run(): Promise<{ port: number }>;
    close(): Promise<void>;
    on(event: 'event', listener: (e: S3Event) => void): void;
  };
  const directory = await mkdtemp(path.join(os.tmpdir(), 'tessera-s3rver-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: buckets.map((name) => ({ name })) });
  const events: string[] = [];
  server.on('event', (e) => events.push(...e.Records.map((r) => `${r.eventName} ${decodeURIComponent(r.s3.object.key)}`)));
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    events,
    close: async () => {
      await server.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

export const AZURITE_ACCOUNT = 'devstoreaccount1';
// Azurite's published development key (not a secret)
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

/** Azurite's blob service as a child process; it takes a while to start, so tests start it once. */
export async function startAzurite(): Promise<{ connectionString: string; close(): Promise<void> }> {
  const port = await freePort();
  const main = require.resolve('azurite/dist/src/blob/main.js');
  const child: ChildProcess = spawn(
    process.execPath,
    [
      main,
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--silent',
      '--disableTelemetry',
      '--inMemoryPersistence',
      '--skipApiVersionCheck',
      '--loose',
    ],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 90_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null) throw new Error(`azurite exited with ${child.exitCode}`);
    if (Date.now() > deadline) {
      child.kill();
      throw new Error('azurite did not start within 90 s');
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`,
    close: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
