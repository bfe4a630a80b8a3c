/**
 * `npm run demo`: the main job, end to end. Applies the package-docs pipeline, starts two worker
 * processes, feeds it the README of every npm package this project installed (real documents,
 * found offline), which the workers split into a view of chunks and embed, shows progress per
 * column until every cell is computed, and prints results.
 * Re-running it only inserts documents it has not seen, so it also shows incremental updates.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdir, stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Engine, loadConfig, runSource, sourceStatuses } from '@tessera/runtime';
import type { PipelineDef } from '@tessera/core';
import { formatTable, progressBar } from './format';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PIPELINE = path.join(ROOT, 'pipelines/package-docs');

async function sampleDocuments(limit: number) {
  const base = path.join(ROOT, 'node_modules');
  const names: string[] = [];
  for (const e of await readdir(base)) {
    if (e.startsWith('.')) continue;
    if (e.startsWith('@')) for (const s of await readdir(path.join(base, e)).catch(() => [])) names.push(`${e}/${s}`);
    else names.push(e);
  }
  const docs = [];
  for (const name of names.sort()) {
    const dir = path.join(base, name);
    const readme = (await readdir(dir).catch(() => [] as string[])).find((f) => /^readme\.md$/i.test(f));
    if (!readme) continue;
    const file = path.join(dir, readme);
    if ((await stat(file)).size < 200) continue;
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8').catch(() => '{}')) as { version?: string };
    docs.push({ id: name, doc: file, package: name, version: pkg.version ?? null });
    if (docs.length >= limit) break;
  }
  return docs;
}

function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/worker/src/main.ts')], {
    cwd: ROOT,
    env: { ...env, TESSERA_PIPELINES: PIPELINE, TESSERA_WORKER_PORT: '0', TESSERA_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('"msg":"worker started"')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code}: ${out}`)));
  });
}

async function main() {
  const config = loadConfig();
  const limit = Number(process.env.DEMO_DOCUMENTS ?? 150);
  const engine = await Engine.connect(config);
  const workers: ChildProcess[] = [];
  try {
    const def = ((await import(path.join(PIPELINE, 'index.ts'))) as { default: PipelineDef }).default;
    const changes = await engine.apply(def);
    console.log(`applied ${def.name} (schema ${config.schema}): ${changes.map((c) => `${c.table} ${c.kind}`).join(', ') || 'catalog up to date'}`);

    console.log('starting 2 worker processes...');
    workers.push(...(await Promise.all([startWorker(process.env), startWorker(process.env)])));

    const docs = await sampleDocuments(limit);
    const known = new Set((await engine.store.select(def.name, 'docs', { columns: ['id'] })).map((r) => r.id));
    const fresh = docs.filter((d) => !known.has(d.id));
    if (fresh.length) {
      const r = await engine.insert(def.name, 'docs', fresh);
      console.log(`inserted ${r.count} new document(s) as version ${r.version} (${known.size} already there)`);
    } else console.log(`all ${docs.length} documents are already in the table; nothing new to compute`);

    // the pipeline's folder source (this repository's READMEs): one backfill now; the workers run it every 10 minutes
    let run = await runSource(engine, def, 'project_docs');
    while (run.status === 'skipped') {
      // a worker took the scheduler's first tick: show that run instead
      await new Promise((r) => setTimeout(r, 200));
      const last = (await sourceStatuses(engine, def.name)).find((s) => s.name === 'project_docs')?.lastRun;
      if (last && last.status !== 'running') run = { ...run, ...last, status: last.status === 'failed' ? 'failed' : 'done', error: last.error ?? undefined };
    }
    console.log(`backfill of source project_docs (folder of this repository's READMEs): ${run.status}, ${run.inserted} new and ${run.updated} changed file(s)${run.error ? `: ${run.error}` : ''} (see npm run tessera -- schedules package-docs)`);

    const started = Date.now();
    for (;;) {
      let pending = 0;
      const report: string[] = [];
      for (const t of await engine.store.tables(def.name)) {
        const s = await engine.store.status(def.name, t.name);
        pending += s.columns.reduce((a, c) => a + c.pending, 0);
        report.push(`${def.name}.${t.name} (${t.kind}): ${s.rows} rows`);
        for (const c of s.columns) report.push(`  ${c.column.padEnd(10)} ${progressBar(c.done, c.failed, c.done + c.pending + c.failed)}  done ${c.done}  pending ${c.pending}  failed ${c.failed}`);
      }
      if (pending === 0) {
        console.log(`\ncomputed in ${((Date.now() - started) / 1000).toFixed(1)} s\n${report.join('\n')}`);
        break;
      }
      if (Date.now() - started > 300_000) throw new Error('not done after 5 minutes; see `npm run tessera -- status package-docs`');
      await new Promise((r) => setTimeout(r, 500));
    }

    // exports run as each version's last job: wait for them, then read the customer's copy back
    for (let i = 0; i < 600; i++) {
      const counts = await Promise.all(['control', 'cpu'].map((q) => engine.queue(q).getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'prioritized')));
      if (counts.every((c) => Object.values(c).every((n) => n === 0))) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const count = (table: string) =>
      engine.store.pool
        .query(`SELECT count(*)::int AS n FROM package_docs.${table}`)
        .then((r) => r.rows[0].n as number)
        .catch(() => 0);
    const withEmbedding = await engine.store.pool
      .query('SELECT count(embedding)::int AS n FROM package_docs.doc_chunks')
      .then((r) => r.rows[0].n as number)
      .catch(() => 0);
    const exportDir = path.resolve(process.env.PACKAGE_DOCS_EXPORT_DIR ?? '.tessera/exports', 'chunks');
    const parts = (await readdir(exportDir).catch(() => [] as string[])).filter((f) => f.endsWith('.parquet'));
    console.log(`
exported: ${await count('docs')} documents to Postgres table package_docs.docs; ${await count('doc_chunks')} chunks (${withEmbedding} with embeddings) to package_docs.doc_chunks; ${parts.length} Parquet file(s) in ${exportDir}`);

    const rows = await engine.store.select(def.name, 'docs', { columns: ['id', 'title', 'words', 'keywords', 'chunks'], limit: 6, orderBy: ['id'] });
    console.log(`\n${formatTable(rows)}`);
    const first = rows[0]?.id;
    if (first) {
      const chunks = await engine.store.select(def.name, 'chunks', { columns: ['id', 'pos', 'heading', 'text', 'embedding'], where: { id: first }, limit: 4, orderBy: ['pos'] });
      const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);
      console.log(
        `\n${formatTable(
          chunks.map((r) => ({
            ...r,
            // the innermost heading the chunk is under
            heading: short(String(Object.values((r.heading as Record<string, string> | null) ?? {}).at(-1) ?? ''), 32),
            text: short((r.text as string).replace(/\s+/g, ' '), 48),
            embedding: `[${(r.embedding as number[] | null)?.slice(0, 3).map((x) => x.toFixed(3)).join(', ')}, ...] (${(r.embedding as number[] | null)?.length ?? 0} dims)`,
          })),
        )}`,
      );
    }
    for (const table of ['docs', 'chunks']) {
      const errors = await engine.store.errors(def.name, table, { limit: 5 });
      if (errors.length) console.log(`\n${table}: ${errors.length} failed cell(s), e.g. ${errors[0]!.column} of ${JSON.stringify(errors[0]!.key)}: ${errors[0]!.errormsg}`);
    }
    console.log(`\nnext: npm run tessera -- status package-docs | select package-docs chunks --limit 5 | versions package-docs chunks`);
  } finally {
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : (w.once('exit', r), w.kill('SIGTERM'))))));
    await engine.close();
  }
}

main().catch((e: Error) => {
  console.error(`demo: ${e.message}`);
  process.exit(1);
});
