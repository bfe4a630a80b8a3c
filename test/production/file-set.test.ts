/**
 * The production file set, as the Docker image holds it (scripts/production/assemble.mjs: compiled JS,
 * published manifests, `npm ci --omit=dev`), runs with plain `node`, no tsx flag and no sources: the
 * compiled CLI applies a TypeScript pipeline, compiled workers on Node 20 and on the current LTS (24)
 * compute it, the compiled client sends the rows, and SIGTERM ends each worker cleanly.
 */
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Engine } from '@tessera/runtime';
import { testConfig } from '../support/env';
import { cleanup } from '../support/cleanup';
import { ltsNode } from '../../scripts/test/lts-node.mjs';
import { ROOT, run, startCompiledWorker, type Started } from './support';

const LONG = 900_000; // assembling or packing runs npm and a build: minutes on a loaded machine

const PIPELINE = `import { definePipeline, defineUdf, t } from '@tessera/core';
const shout = defineUdf({ name: 'shout', version: '1', params: [t.string()], returns: t.string(), fn: ([s]) => s.toUpperCase() + '!' });
export default definePipeline('prodset', (p) => {
  const notes = p.table('notes', { id: t.string().primaryKey(), body: t.string() });
  notes.compute('loud', shout(notes.body));
});
`;

const config = testConfig();
let dir: string;
let engine: Engine | undefined;
const workers: Started[] = [];

beforeAll(async () => {
  dir = path.join(await mkdtemp(path.join(os.tmpdir(), 'tessera-prod-')), 'app');
  await run(process.execPath, [path.join(ROOT, 'scripts/production/assemble.mjs'), dir], { cwd: ROOT });
  // the user's pipeline is TypeScript, beside the compiled packages (its imports resolve from /app/node_modules)
  await mkdir(path.join(dir, 'pipelines-test/prodset'), { recursive: true });
  await writeFile(path.join(dir, 'pipelines-test/prodset/index.ts'), PIPELINE);
}, LONG);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await engine?.close();
  if (dir) await rm(path.dirname(dir), { recursive: true, force: true });
  await cleanup(config);
}, LONG);

test(
  'the file set holds compiled JavaScript and production dependencies only',
  async () => {
    const core = await readdir(path.join(dir, 'packages/core'));
    expect(core.sort()).toEqual(['dist', 'package.json']);
    const modules = await readdir(path.join(dir, 'node_modules'));
    for (const dev of ['jest', 'typescript', 'azurite', 's3rver', '@biomejs', 'turbo']) expect(modules).not.toContain(dev);
    // @swc/helpers is apache-arrow's runtime dependency; SWC's compiler (@swc/core) is a dev tool
    expect(await readdir(path.join(dir, 'node_modules/@swc')).catch(() => [])).not.toContain('core');
    expect(modules).toEqual(expect.arrayContaining(['bullmq', 'pg', 'pino', 'tsx']));
  },
  LONG,
);

test(
  'compiled CLI and workers on Node 20 and Node 24 run a TypeScript pipeline end to end',
  async () => {
    const env = { ...config.env, TESSERA_PIPELINES: 'pipelines-test' };
    const cli = (node: string, ...args: string[]) => run(node, ['apps/cli/dist/main.js', ...args], { cwd: dir, env });
    const lts = ltsNode();
    expect(await run(lts, ['--version'], { cwd: dir })).toMatch(/^v24\./);

    expect(await cli(lts, '--help')).toContain('tessera <command>');
    await cli(process.execPath, 'apply', 'prodset');
    // the Node 24 worker also serves the dashboard at /dashboard
    workers.push(await startCompiledWorker(process.execPath, dir, env), await startCompiledWorker(lts, dir, { ...env, TESSERA_DASHBOARD: 'on' }));

    // the compiled client, from the file set's own node_modules, under plain node
    const rows = Array.from({ length: 40 }, (_, i) => ({ id: `n${i}`, body: `note ${i}` }));
    const send = `import { TesseraClient } from '@tessera/client';
const c = new TesseraClient({ redisUrl: process.env.TESSERA_REDIS_URL, prefix: process.env.TESSERA_QUEUE_PREFIX });
const r = await c.insert('prodset', 'notes', ${JSON.stringify(rows)}, { requestId: 'prodset-1', wait: true });
console.log(JSON.stringify(r)); await c.close();`;
    await run(lts, ['--input-type=module', '-e', send], { cwd: dir, env });

    engine = await Engine.connect(config);
    await engine.waitIdle('prodset', { timeoutMs: 300_000 });
    const selected = JSON.parse(await cli(lts, 'select', 'prodset', 'notes', '--json', '--limit', '100')) as { id: string; loud: string }[];
    expect(selected.map((r) => [r.id, r.loud]).sort()).toEqual(rows.map((r) => [r.id, `${r.body.toUpperCase()}!`]).sort());

    const scraped: string[] = [];
    for (const w of workers) {
      const health = await fetch(`http://127.0.0.1:${w.port}/healthz`);
      expect(health.status).toBe(200);
      scraped.push(await (await fetch(`http://127.0.0.1:${w.port}/metrics`)).text());
    }
    // every worker exports the histogram; its buckets appear on the workers that ran a job (which
    // ones did is up to the queue)
    for (const m of scraped) expect(m).toContain('# TYPE tessera_job_duration_seconds histogram');
    expect(scraped.some((m) => m.includes('tessera_job_duration_seconds_bucket'))).toBe(true);
    const mounted = (await (await fetch(`http://127.0.0.1:${workers[1]!.port}/dashboard/api/pipelines`)).json()) as Array<{
      name: string;
      tables: Array<{ name: string; columns: Array<{ name: string; done: number }> }>;
    }>;
    expect(mounted.find((p) => p.name === 'prodset')?.tables[0]?.columns.find((c) => c.name === 'loud')?.done).toBe(rows.length);
    expect((await fetch(`http://127.0.0.1:${workers[0]!.port}/dashboard/api/pipelines`)).status).toBe(404); // not mounted without TESSERA_DASHBOARD=on
    const codes = await Promise.all(workers.splice(0).map((w) => w.stop()));
    expect(codes).toEqual([0, 0]);
  },
  LONG,
);
