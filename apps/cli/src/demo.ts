/**
 * `npm run demo`: the main job, end to end, on real local data with no keys. It gathers documents
 * (npm READMEs, Debian's HTML and PDF manuals, two shipped documents) and generates short videos and
 * narration with ffmpeg, all under the data folder; applies two pipelines (package-docs: text, titles,
 * keywords, chunks and embeddings, plus a model column when a provider is configured; clips: frames at
 * 1 fps with local image features, audio segments); starts two worker processes; inserts what is new;
 * shows progress until every cell is computed; and reads every export back (Postgres, MySQL when
 * reachable, Parquet, LanceDB, the media destination). A second run finds everything there and does
 * only new work.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Engine, loadConfig, runSource, sourceStatuses } from '@tessera/runtime';
import type { PipelineDef } from '@tessera/core';
import { formatTable } from './format';
import { gatherDocuments } from './demo/documents';
import { generateMedia } from './demo/media';
import { probeMysql } from './demo/mysql-probe';
import { statusReport, waitForCells, waitForQueues } from './demo/progress';
import { exportsReport } from './demo/exports-report';

const ROOT = path.resolve(import.meta.dirname, '../../..');
const PIPELINES = ['package-docs', 'clips'].map((p) => path.join(ROOT, 'pipelines', p));
/** every input the demo uses lives here (found files are copied in), so workers confined to the project's data folders can read them */
const DATA_DIR = path.resolve(process.env.TESSERA_DEMO_DATA ?? path.join(ROOT, '.tessera/demo-data'));
const DEFAULT_MYSQL = 'mysql://root@127.0.0.1:3306/test';

/** This repository's own READMEs, copied into the data folder, where the package-docs pipeline's folder source finds them. */
async function copyProjectDocs(dataDir: string): Promise<void> {
  const dest = path.join(dataDir, 'project-docs');
  for (const rel of [
    'README.md',
    ...['packages', 'apps', 'docker'].flatMap((d) =>
      readdirSync(path.join(ROOT, d), { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => path.join(d, e.name, 'README.md')),
    ),
  ]) {
    const from = path.join(ROOT, rel);
    if (!existsSync(from)) continue;
    const to = path.join(dest, rel);
    // copied only when changed, so a second run's backfill finds nothing new
    if (existsSync(to) && readFileSync(to).equals(readFileSync(from))) continue;
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(from, to);
  }
}

const seconds = (since: number) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

function startWorker(env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'apps/worker/src/main.ts')], {
    cwd: ROOT,
    env: { ...env, TESSERA_PIPELINES: PIPELINES.join(','), TESSERA_WORKER_PORT: '0', TESSERA_LOG_LEVEL: 'info' },
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

/** Where the exports go, and which optional parts run: said before anything starts. */
async function announceOptionalParts(): Promise<{ mysqlUrl?: string; model: boolean }> {
  let mysqlUrl = process.env.DEMO_MYSQL_URL;
  if (mysqlUrl === 'off') {
    delete process.env.DEMO_MYSQL_URL;
    mysqlUrl = undefined;
    console.log('MySQL export: off (DEMO_MYSQL_URL=off)');
  } else {
    const probe = await probeMysql(mysqlUrl ?? DEFAULT_MYSQL);
    if (probe.ok) {
      mysqlUrl ??= DEFAULT_MYSQL;
      process.env.DEMO_MYSQL_URL = mysqlUrl; // read by the pipelines, here and in the workers
      console.log(`MySQL export: to ${mysqlUrl.replace(/\/\/[^@/]*@/, '//')} (server ${probe.version})`);
    } else {
      delete process.env.DEMO_MYSQL_URL;
      mysqlUrl = undefined;
      console.log(
        `MySQL export: skipped, no server at ${(process.env.DEMO_MYSQL_URL ?? DEFAULT_MYSQL).replace(/\/\/[^@/]*@/, '//')} (${probe.reason}); set DEMO_MYSQL_URL to use one`,
      );
    }
  }
  const { modelConfigured, demoModel } = (await import(path.join(PIPELINES[0]!, 'index.ts'))) as { modelConfigured: boolean; demoModel: string };
  if (modelConfigured)
    console.log(
      `model column llm_summary: ${demoModel} at ${process.env.TESSERA_OPENAI_BASE_URL ?? process.env.OPENAI_BASE_URL ?? 'OpenAI'} (TESSERA_DEMO_MODEL to change)`,
    );
  else
    console.log(
      'model column llm_summary: skipped, no provider configured (set OPENAI_API_KEY, or TESSERA_OPENAI_BASE_URL for Ollama, vLLM or a llama.cpp server, and TESSERA_DEMO_MODEL)',
    );
  return { ...(mysqlUrl ? { mysqlUrl } : {}), model: modelConfigured };
}

/** Insert the rows whose ids the table does not have yet; returns how many. */
async function insertNew(engine: Engine, pipeline: string, table: string, rows: Array<{ id: string } & Record<string, unknown>>): Promise<number> {
  const known = new Set((await engine.store.select(pipeline, table, { columns: ['id'] })).map((r) => r.id));
  const fresh = rows.filter((r) => !known.has(r.id));
  if (fresh.length) {
    const r = await engine.insert(pipeline, table, fresh);
    console.log(`  ${pipeline}.${table}: inserted ${r.count} new row(s) as version ${r.version} (${known.size} already there)`);
  } else console.log(`  ${pipeline}.${table}: all ${rows.length} rows already there, nothing new`);
  return fresh.length;
}

async function main() {
  const started = Date.now();
  // the pipelines and the workers read the same data folder; workers may read media only under it and
  // the media destination (see Security in README)
  process.env.TESSERA_DEMO_DATA = DATA_DIR;
  process.env.TESSERA_MEDIA_ROOTS ??= [DATA_DIR, path.join(ROOT, '.tessera/media')].join(',');
  // a record of its own (TESSERA_SCHEMA) gets queues of its own: a queue prefix serves one record
  const schema = process.env.TESSERA_SCHEMA;
  if (schema && schema !== 'tessera') process.env.TESSERA_QUEUE_PREFIX ??= schema.slice(0, 40);
  const config = loadConfig();
  const engine = await Engine.connect(config);
  const workers: ChildProcess[] = [];
  try {
    console.log(`data folder: ${DATA_DIR}`);
    const [docs, media] = await Promise.all([
      gatherDocuments(ROOT, DATA_DIR, {
        markdown: Number(process.env.DEMO_DOCUMENTS ?? 150),
        html: Number(process.env.DEMO_HTML ?? 12),
        pdf: Number(process.env.DEMO_PDFS ?? 2),
      }),
      generateMedia(DATA_DIR),
      copyProjectDocs(DATA_DIR),
    ]);
    const formats = docs.reduce<Record<string, number>>(
      (a, d) => ((a[path.extname(d.doc).slice(1).toLowerCase()] = (a[path.extname(d.doc).slice(1).toLowerCase()] ?? 0) + 1), a),
      {},
    );
    console.log(
      `documents: ${docs.length} (${Object.entries(formats)
        .map(([f, n]) => `${n} ${f}`)
        .join(', ')}); videos: ${media.videos.length}, narration: ${media.narration.length} (voice: ${media.voice}); ready in ${seconds(started)}`,
    );
    const optional = await announceOptionalParts();

    const defs: PipelineDef[] = [];
    for (const dir of PIPELINES) {
      const def = ((await import(path.join(dir, 'index.ts'))) as { default: PipelineDef }).default;
      // the demo's pipeline code is the truth: a changed column or iterator is recomputed, not refused
      const changes = await engine.apply(def, { recompute: true });
      console.log(`applied ${def.name} (schema ${config.schema}): ${changes.map((c) => `${c.table} ${c.kind}`).join(', ') || 'catalog up to date'}`);
      defs.push(def);
    }

    console.log('starting 2 worker processes...');
    workers.push(...(await Promise.all([startWorker(process.env), startWorker(process.env)])));

    const work = Date.now();
    console.log('inserting:');
    let inserted = 0;
    inserted += await insertNew(engine, 'package-docs', 'docs', docs);
    inserted += await insertNew(engine, 'clips', 'videos', media.videos);
    inserted += await insertNew(engine, 'clips', 'narration', media.narration);
    // (further steps that feed the pipelines, such as a backfill of a declared source, go here)

    // the pipeline's folder source (this repository's READMEs, copied into the data folder): one backfill now;
    // the workers run it every 10 minutes
    const docsDef = defs.find((d) => d.name === 'package-docs')!;
    let run = await runSource(engine, docsDef, 'project_docs');
    while (run.status === 'skipped') {
      // a worker took the scheduler's first tick: show that run instead
      await new Promise((r) => setTimeout(r, 200));
      const last = (await sourceStatuses(engine, docsDef.name)).find((s) => s.name === 'project_docs')?.lastRun;
      if (last && last.status !== 'running') run = { ...run, ...last, status: last.status === 'failed' ? 'failed' : 'done', error: last.error ?? undefined };
    }
    console.log(
      `  backfill of source project_docs (this repository's READMEs): ${run.status}, ${run.inserted} new and ${run.updated} changed file(s)${run.error ? `: ${run.error}` : ''} (see npm run tessera -- schedules package-docs)`,
    );

    await waitForCells(
      engine,
      defs.map((d) => d.name),
      600_000,
    );
    const computed = Date.now();
    await waitForQueues(
      engine,
      defs.map((d) => d.name),
      120_000,
    );
    console.log(`\ncomputed in ${((computed - work) / 1000).toFixed(1)} s, exported ${seconds(computed)} later\n`);
    for (const d of defs) console.log(`${(await statusReport(engine, d.name)).text}\n`);

    const exportDir = path.resolve(process.env.PACKAGE_DOCS_EXPORT_DIR ?? '.tessera/exports');
    const mediaDir = path.resolve(process.env.CLIPS_MEDIA_DESTINATION ?? '.tessera/media/clips');
    console.log(
      `exports (read back):\n${await exportsReport({ databaseUrl: process.env.PACKAGE_DOCS_EXPORT_URL ?? config.databaseUrl, exportDir, mediaDir, model: optional.model, ...(optional.mysqlUrl ? { mysqlUrl: optional.mysqlUrl } : {}) })}`,
    );

    await showResults(engine, optional.model);
    console.log(`\n${inserted ? `${inserted} new row(s)` : 'no new rows'}; the run took ${seconds(started)}`);
    console.log(`next: npm run tessera -- status clips | select clips frames --limit 5 | errors package-docs docs`);
  } finally {
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : (w.once('exit', r), w.kill('SIGTERM'))))));
    await engine.close();
  }
}

const short = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 3)}...` : s);

/** A few rows of each kind of result: documents of every format, chunks of a PDF, frames with their features, audio segments. */
async function showResults(engine: Engine, model: boolean) {
  const docs = await engine.store.select('package-docs', 'docs', {
    columns: ['id', 'doc', 'title', 'words', 'keywords', ...(model ? ['llm_summary'] : [])],
    orderBy: ['id'],
  });
  const formatOf = (d: Record<string, unknown>) => path.extname(String(d.doc)).slice(1).toLowerCase();
  // two documents of each format
  const sample = ['pdf', 'html', 'md'].flatMap((f) => docs.filter((d) => formatOf(d) === f).slice(0, 2));
  console.log(
    `\n${formatTable(
      sample.map((d) => ({
        id: short(String(d.id), 40),
        format: formatOf(d),
        title: short(String(d.title ?? ''), 36),
        words: d.words,
        keywords: d.keywords,
        ...(model ? { llm_summary: short(String(d.llm_summary ?? ''), 50) } : {}),
      })),
    )}`,
  );
  const pdf = docs.find((d) => d.id === 'tessera:tessera-overview.pdf') ?? docs.find((d) => formatOf(d) === 'pdf');
  if (pdf) {
    const chunks = await engine.store.select('package-docs', 'chunks', {
      columns: ['id', 'pos', 'page', 'text', 'embedding'],
      where: { id: pdf.id },
      limit: 3,
      orderBy: ['pos'],
    });
    console.log(
      `\n${formatTable(
        chunks.map((r) => ({
          ...r,
          text: short(String(r.text).replace(/\s+/g, ' '), 48),
          embedding: `[${(r.embedding as number[] | null)
            ?.slice(0, 3)
            .map((x) => x.toFixed(3))
            .join(', ')}, ...] (${(r.embedding as number[] | null)?.length ?? 0} dims)`,
        })),
      )}`,
    );
  }
  const frames = await engine.store.select('clips', 'frames', {
    columns: ['id', 'pos', 'frameAttrs', 'color', 'frame'],
    where: { id: 'bars-fade' },
    orderBy: ['pos'],
  });
  console.log(
    `\n${formatTable(
      frames.map((f) => {
        const c = f.color as { brightness: number; contrast: number; mean: { r: number; g: number; b: number } } | null;
        return {
          id: f.id,
          pos: f.pos,
          time: (f.frameAttrs as { time: number }).time,
          brightness: c?.brightness,
          contrast: c?.contrast,
          mean_rgb: c ? `${c.mean.r},${c.mean.g},${c.mean.b}` : '',
          frame: path.basename(String(f.frame)),
        };
      }),
    )}`,
  );
  const segments = await engine.store.select('clips', 'segments', {
    columns: ['id', 'pos', 'segmentStart', 'segmentEnd', 'audioSegment'],
    limit: 4,
    orderBy: ['id', 'pos'],
  });
  console.log(`\n${formatTable(segments.map((s) => ({ ...s, audioSegment: path.basename(String(s.audioSegment)) })))}`);
  for (const [p, table] of [
    ['package-docs', 'docs'],
    ['package-docs', 'chunks'],
    ['clips', 'videos'],
    ['clips', 'frames'],
    ['clips', 'narration'],
  ] as const) {
    const errors = await engine.store.errors(p, table, { limit: 50 });
    if (errors.length)
      console.log(
        `\n${p}.${table}: ${errors.length} failed cell(s) (npm run tessera -- errors ${p} ${table}), e.g. ${errors[0]!.column} of ${JSON.stringify(errors[0]!.key)}: ${errors[0]!.errormsg}`,
      );
  }
}

main().catch((e: Error) => {
  console.error(`demo: ${e.message}`);
  process.exit(1);
});
