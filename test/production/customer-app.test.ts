/**
 * A customer's app installs the published @tessera/core and @tessera/client tarballs (nothing else
 * of Tessera) and uses them from plain Node ESM, on Node 20 and 24, and from TypeScript (the
 * published .d.ts type-check a correct use and reject a wrong one). The job it sends is the
 * payload the workers accept.
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { IngestJob } from '@tessera/runtime';
import { testConfig } from '../support/env';
import { cleanup } from '../support/cleanup';
import { ltsNode } from '../../scripts/test/lts-node.mjs';
import { ROOT, run } from './support';

const LONG = 900_000; // assembling or packing runs npm and a build: minutes on a loaded machine

const config = testConfig();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-app-'));
  const packed = path.join(dir, 'packed');
  await run(process.execPath, [path.join(ROOT, 'scripts/production/pack.mjs'), packed, '@tessera/core', '@tessera/client'], { cwd: ROOT });
  const tgz = (await readdir(packed)).filter((f) => f.endsWith('.tgz'));
  const app = path.join(dir, 'app');
  await run('mkdir', ['-p', app], { cwd: dir });
  await writeFile(path.join(app, 'package.json'), JSON.stringify({ name: 'customer-app', private: true, type: 'module' }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...tgz.map((f) => path.join(packed, f))], { cwd: app });
}, LONG);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  await cleanup(config);
}, LONG);

const APP = `import { definePipeline, t } from '@tessera/core';
import { TesseraClient } from '@tessera/client';
const def = definePipeline('shop', (p) => { p.table('orders', { id: t.string().primaryKey(), total: t.float() }); });
const client = new TesseraClient({ redisUrl: process.env.TESSERA_REDIS_URL, prefix: process.env.TESSERA_QUEUE_PREFIX });
const { jobId } = await client.insert(def.name, 'orders', [{ id: 'o1', total: 9.5 }], { requestId: process.argv[2] });
await client.close();
console.log(jobId);
`;

const TYPED = `import { TesseraClient, type SendResult } from '@tessera/client';
import { definePipeline, t } from '@tessera/core';
const def = definePipeline('shop', (p) => { p.table('orders', { id: t.string().primaryKey() }); });
const client = new TesseraClient({ prefix: 'x' });
const sent: Promise<SendResult> = client.insert(def.name, 'orders', [{ id: 'o1' }]);
// @ts-expect-error rows are objects, not a string
void client.insert('shop', 'orders', 'o1');
void sent;
`;

test(
  'plain Node ESM on Node 20 and 24 sends rows the workers accept',
  async () => {
    const app = path.join(dir, 'app');
    await writeFile(path.join(app, 'app.mjs'), APP);
    const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue('ingest', { connection: redis, prefix: config.queuePrefix });
    try {
      for (const node of [process.execPath, ltsNode()]) {
        const requestId = `req-${path.basename(node)}-${Math.random()}`;
        const jobId = (await run(node, ['app.mjs', requestId], { cwd: app, env: config.env })).trim();
        const job = await queue.getJob(jobId);
        expect(job?.name).toBe('insert');
        expect(IngestJob.parse(job!.data)).toEqual({ pipeline: 'shop', table: 'orders', op: 'insert', rows: [{ id: 'o1', total: 9.5 }], requestId });
      }
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
      redis.disconnect();
    }
  },
  LONG,
);

test(
  'the published .d.ts type-check a TypeScript app (nodenext resolution)',
  async () => {
    const app = path.join(dir, 'app');
    await writeFile(path.join(app, 'typed.ts'), TYPED);
    const tsc = path.join(ROOT, 'node_modules/typescript/bin/tsc');
    const args = [
      '--noEmit',
      '--strict',
      '--module',
      'nodenext',
      '--moduleResolution',
      'nodenext',
      '--target',
      'es2022',
      '--types',
      'node',
      '--typeRoots',
      path.join(ROOT, 'node_modules/@types'),
      'typed.ts',
    ];
    await run(process.execPath, [tsc, ...args], { cwd: app });
    // and a wrong use is an error (the types are real, not any)
    await writeFile(path.join(app, 'wrong.ts'), `import { TesseraClient } from '@tessera/client';\nconst n: number = new TesseraClient();\nvoid n;\n`);
    await expect(run(process.execPath, [tsc, ...args.slice(0, -1), 'wrong.ts'], { cwd: app })).rejects.toThrow(/TS2322/);
  },
  LONG,
);
