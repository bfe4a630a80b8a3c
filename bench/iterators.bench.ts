/**
 * Iterator throughput and memory against command-line and library baselines, in one run:
 *  - frames/s of frameIterator (fps=1 and every frame) vs the ffmpeg CLI writing the same frames
 *    as PNG files (bar: ratio >= 0.85);
 *  - PDF pages/s of documentSplitter vs poppler's pdftotext on the same PDF (ratio reported);
 *  - chunks/s of documentSplitter (token_limit) vs @langchain/textsplitters'
 *    RecursiveCharacterTextSplitter with a js-tiktoken length function, same text, same limit
 *    (bar: ratio >= 1.0);
 *  - segments/s of videoSplitter in 'fast' mode vs `ffmpeg -c copy -f segment` on the same file
 *    (bar: ratio >= 0.8);
 *  - DOCX text extraction: documents/s of documentSplitter vs mammoth's extractRawText (reported);
 *  - peak resident memory of a real worker process (apps/worker) iterating a 2-hour video into a
 *    view at 1 fps, and a 1,000-page PDF into chunks (bar: worker + its largest ffmpeg < 300 MB).
 *
 *   npx tsx bench/iterators.bench.ts
 *   (BENCH_ONLY=frames,vsplit,pdf,docx,chunks,memory BENCH_ROUNDS=3 BENCH_LONG_SECONDS=7200 BENCH_LONG_FPS=30 BENCH_PDF_PAGES=1000; generated media is
 *    cached in $TMPDIR/tessera-bench-iterators so later runs skip generation)
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { documentSplitterDef, frameIteratorDef, videoSplitterDef, type DocumentSplitterParams, type FrameIteratorParams } from '@tessera/iterators';
import { localContext } from '../test/support/local-media';
import { processCpu } from './support/process-cpu';
// baselines and generators are imported where used, so the memory-measuring child process loads
// only what a worker running the iterators would

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LONG_SECONDS = Number(process.env.BENCH_LONG_SECONDS ?? 7200);
const LONG_FPS = Number(process.env.BENCH_LONG_FPS ?? 30);
const PDF_PAGES = Number(process.env.BENCH_PDF_PAGES ?? 1000);
const TOKEN_LIMIT = 256;
const TOKEN_OVERLAP = 32;
const BARS = { frames: 0.85, chunks: 1.0, rssMb: 300, videoSplit: 0.8 };
const cache = join(process.env.TMPDIR || tmpdir(), 'tessera-bench-iterators');

// ---------- helpers ----------

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err.slice(-500)}`))));
  });
}
const ffmpeg = (...args: string[]) => run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args]);

async function cached(name: string, make: (tmp: string) => Promise<unknown>): Promise<string> {
  const path = join(cache, name);
  if (existsSync(path)) return path;
  const tmp = `${path}.tmp-${process.pid}${name.slice(name.lastIndexOf('.'))}`;
  const t0 = performance.now();
  await make(tmp);
  await rename(tmp, path);
  console.error(`generated ${name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return path;
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000 };
}

/** CPU seconds of this process and of its finished children (ffmpeg, ffprobe) */
const cpuSeconds = () => processCpu('self');

interface Run {
  count: number;
  seconds: number;
  cpu: number;
}

async function measure(fn: () => Promise<number>): Promise<Run> {
  const c0 = cpuSeconds();
  const { value, seconds } = await timed(fn);
  const c1 = cpuSeconds();
  return { count: value, seconds, cpu: c1.self - c0.self + (c1.children - c0.children) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/**
 * Ours against a baseline, interleaved (ours, baseline, ours, baseline...) so that load from other
 * processes on a shared machine hits both alike. The ratio is baseline time / our time per pair,
 * median over ROUNDS pairs; CPU seconds (ours includes our ffmpeg/ffprobe children) are reported too.
 */
async function compare(ours: () => Promise<number>, baseline: () => Promise<number>, prepare: () => Promise<void> = async () => {}) {
  const o: Run[] = [];
  const b: Run[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    await prepare();
    o.push(await measure(ours));
    await prepare();
    b.push(await measure(baseline));
  }
  const bestOf = (runs: Run[]) => runs.reduce((x, y) => (y.seconds < x.seconds ? y : x));
  return {
    ours: bestOf(o),
    baseline: bestOf(b),
    ratio: median(o.map((x, i) => b[i]!.seconds / x.seconds)),
    cpuRatio: median(o.map((x, i) => b[i]!.cpu / x.cpu)),
  };
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

// ---------- media ----------

/**
 * 320x240 at 30 fps, a key frame every 2 s: 40 s (1,200 frames) for every frame; 3 and 10 minutes
 * (180 and 600 frames at 1 fps) for fps=1, where the fixed cost per video (the ffprobe packet pass,
 * ~0.2 s) weighs on short clips
 */
const benchVideo = (seconds: number) =>
  cached(`frames-320x240-30fps-${seconds}s.mp4`, (tmp) =>
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=320x240:rate=30:duration=${seconds}`,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-g',
      '60',
      '-pix_fmt',
      'yuv420p',
      tmp,
    ),
  );

/** a long low-resolution video: memory depends on duration and frame count, not on resolution */
const longVideo = () =>
  cached(`long-${LONG_SECONDS}s-${LONG_FPS}fps.mp4`, (tmp) =>
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=96x72:rate=${LONG_FPS}:duration=${LONG_SECONDS}`,
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-g',
      '250',
      '-pix_fmt',
      'yuv420p',
      tmp,
    ),
  );

const WORDS =
  'the of and to in is that for it as with was on be by this are or from at which an have not they but one all were can there been has more if will would each about how up out them then she many some so these would other into has two like him see time could no make than first been its who now people my made over did down only way find use may water long little very after words called just where most know'.split(
    ' ',
  );

/** a PDF of PDF_PAGES pages, 45 lines of ~85 characters each, in paragraphs of 5 lines */
const benchPdf = () =>
  cached(`doc-${PDF_PAGES}p.pdf`, async (tmp) => {
    let seed = 42;
    const word = () => WORDS[(seed = (seed * 1103515245 + 12345) % 2147483648) % WORDS.length]!;
    const line = () => {
      let s = word();
      while (s.length < 80) s += ` ${word()}`;
      return s;
    };
    const pages = Array.from({ length: PDF_PAGES }, (_, p) =>
      Array.from({ length: 9 }, (_, q) => Array.from({ length: 5 }, (_, l) => (l === 4 ? `${line()} page ${p + 1} paragraph ${q + 1}.` : line()))),
    );
    const { writePdf } = await import('../packages/iterators/test/support/doc-fixtures');
    await writePdf(tmp, pages, { title: 'Bench document', fontSize: 8 });
  });

// ---------- peak RSS of a real worker process ----------

/** Peak RSS (VmHWM) of a process and, separately, of the largest of its children (ffmpeg, ffprobe), sampled from /proc. */
function watchProcess(pid: number): () => { selfMb: number; childMb: number } {
  let selfKb = 0;
  let childKb = 0;
  const hwm = async (p: number | string) => Number(/VmHWM:\s+(\d+) kB/.exec(await readFile(`/proc/${p}/status`, 'utf8').catch(() => ''))?.[1] ?? 0);
  const timer = setInterval(async () => {
    try {
      selfKb = Math.max(selfKb, await hwm(pid));
      for (const task of await readdir(`/proc/${pid}/task`)) {
        const kids = (await readFile(`/proc/${pid}/task/${task}/children`, 'utf8')).trim().split(/\s+/).filter(Boolean);
        for (const kid of kids) childKb = Math.max(childKb, await hwm(kid));
      }
    } catch {
      // a process that exits between listing and reading is fine to miss
    }
  }, 100);
  return () => {
    clearInterval(timer);
    return { selfMb: selfKb / 1024, childMb: childKb / 1024 };
  };
}

/**
 * Insert one row into the bench pipeline and let one real worker process (apps/worker, as deployed)
 * iterate it into its view: the worker's peak RSS, and its largest child's, while it does.
 */
async function workerRss(
  table: 'videos' | 'docs',
  column: 'video' | 'doc',
  file: string,
): Promise<{ rows: number; seconds: number; nodeMb: number; ffmpegMb: number }> {
  const { Engine, loadConfig } = await import('@tessera/runtime');
  const { default: def } = await import('./pipelines/media/index');
  const id = Math.random().toString(16).slice(2, 10);
  const env = {
    TESSERA_SCHEMA: `bench_${id}`,
    TESSERA_QUEUE_PREFIX: `bench-${id}`,
    TESSERA_MEDIA_DESTINATION: join(tmpdir(), `tessera-bench-media-${id}`),
    TESSERA_MEDIA_ROOTS: cache, // the bench's video and PDF are written there
    TESSERA_PIPELINES: join(import.meta.dirname, 'pipelines/media'),
    TESSERA_WORKER_PORT: '0',
    TESSERA_LOG_LEVEL: 'warn',
  };
  const config = loadConfig({ ...process.env, ...env });
  const engine = await Engine.connect(config);
  const worker = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '../apps/worker/src/main.ts')], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  try {
    await engine.apply(def);
    const stop = watchProcess(worker.pid!);
    const t0 = performance.now();
    await engine.insert(def.name, table, [{ id: 'one', [column]: file }]);
    await engine.waitIdle(def.name, { timeoutMs: 3_600_000, pollMs: 500 });
    const seconds = (performance.now() - t0) / 1000;
    const { selfMb, childMb } = stop();
    const [row] = await engine.store.select(def.name, table);
    const view = table === 'videos' ? 'frames' : 'chunks';
    if (typeof row?.[view] !== 'number') throw new Error(`the worker did not iterate ${file}: ${JSON.stringify(await engine.store.errors(def.name, table))}`);
    return { rows: row[view] as number, seconds, nodeMb: selfMb, ffmpegMb: childMb };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await engine.store.dropAll();
    await engine.close();
    await rm(env.TESSERA_MEDIA_DESTINATION, { recursive: true, force: true });
  }
}

// ---------- benches ----------

async function frames() {
  const videos = { fps1_3min: await benchVideo(180), fps1_10min: await benchVideo(600), all: await benchVideo(40) };
  const oursDir = join(cache, 'out-ours');
  const cliDir = join(cache, 'out-cli');
  const clean = async () => {
    await rm(oursDir, { recursive: true, force: true });
    await rm(cliDir, { recursive: true, force: true });
    await mkdir(cliDir, { recursive: true });
  };
  const ours = (video: string, params: FrameIteratorParams) => async () => {
    let n = 0;
    for await (const _ of frameIteratorDef.run(video, params, localContext(oursDir))) n++;
    return n;
  };
  const cli = (video: string, filter: string[]) => async () => {
    await ffmpeg('-i', video, ...filter, '-fps_mode', 'passthrough', '-c:v', 'png', join(cliDir, '%06d.png'));
    return (await readdir(cliDir)).length;
  };
  // the CLI takes exactly the frames frameIterator picks at fps=1 on a 30 fps video: 0, 30, 60, ...
  const result: Record<string, unknown> = {};
  for (const [name, params, filter] of [
    ['fps1_3min', { fps: 1 }, ['-vf', 'select=not(mod(n\\,30))']],
    ['fps1_10min', { fps: 1 }, ['-vf', 'select=not(mod(n\\,30))']],
    ['all', {}, []],
  ] as const) {
    const r = await compare(ours(videos[name], params), cli(videos[name], [...filter]), clean);
    if (r.ours.count !== r.baseline.count) throw new Error(`frame counts differ: ours ${r.ours.count}, cli ${r.baseline.count}`);
    result[name] = {
      frames: r.ours.count,
      ours_fps: round(r.ours.count / r.ours.seconds, 1),
      cli_fps: round(r.baseline.count / r.baseline.seconds, 1),
      ratio: round(r.ratio, 3),
      cpu_ratio: round(r.cpuRatio, 3),
      bar: BARS.frames,
      pass: r.ratio >= BARS.frames,
    };
  }
  await clean();
  await rm(cliDir, { recursive: true, force: true });
  return result;
}

/**
 * videoSplitter 'fast' (stream copy, 30 s segments of the 10-minute clip, written content-addressed
 * to a local media root) against the ffmpeg CLI doing the same copy into segment files.
 */
async function vsplit() {
  const video = await benchVideo(600);
  const oursDir = join(cache, 'vsplit-ours');
  const cliDir = join(cache, 'vsplit-cli');
  const clean = async () => {
    await rm(oursDir, { recursive: true, force: true });
    await rm(cliDir, { recursive: true, force: true });
    await mkdir(cliDir, { recursive: true });
  };
  const r = await compare(
    async () => {
      let n = 0;
      for await (const _ of videoSplitterDef.run(video, { duration: 30 }, localContext(oursDir))) n++;
      return n;
    },
    async () => {
      await ffmpeg('-i', video, '-map', '0', '-c', 'copy', '-f', 'segment', '-segment_time', '30', '-reset_timestamps', '1', join(cliDir, '%06d.mp4'));
      return (await readdir(cliDir)).length;
    },
    clean,
  );
  await clean();
  await rm(cliDir, { recursive: true, force: true });
  if (r.ours.count !== r.baseline.count) throw new Error(`segment counts differ: ours ${r.ours.count}, cli ${r.baseline.count}`);
  return {
    segments: r.ours.count,
    ours_segments_per_s: round(r.ours.count / r.ours.seconds, 1),
    cli_segments_per_s: round(r.baseline.count / r.baseline.seconds, 1),
    ratio: round(r.ratio, 3),
    cpu_ratio: round(r.cpuRatio, 3),
    bar: BARS.videoSplit,
    pass: r.ratio >= BARS.videoSplit,
  };
}

/** A Word document of `paragraphs` paragraphs of ~60 words under a heading every 20, made by the `docx` package. */
const benchDocx = (paragraphs: number) =>
  cached(`doc-${paragraphs}p.docx`, async (tmp) => {
    const { Document, HeadingLevel, Packer, Paragraph } = await import('docx');
    const children = [];
    for (let i = 0; i < paragraphs; i++) {
      if (i % 20 === 0) children.push(new Paragraph({ text: `Section ${i / 20 + 1}`, heading: HeadingLevel.HEADING_1 }));
      children.push(new Paragraph(Array.from({ length: 60 }, (_, k) => WORDS[(i * 61 + k * 7) % WORDS.length]).join(' ') + '.'));
    }
    await writeFile(tmp, await Packer.toBuffer(new Document({ sections: [{ children }] })));
  });

/**
 * DOCX text extraction: documentSplitter (paragraph blocks) against mammoth's extractRawText on the
 * same file, documents/s, plus the extracted characters of each (the same text, joined differently).
 */
async function docx() {
  const file = await benchDocx(5000);
  const mammoth = (await import('mammoth')).default;
  let oursChars = 0;
  let mammothChars = 0;
  const ours = async () => {
    oursChars = 0;
    for await (const row of documentSplitterDef.run(file, { separators: 'paragraph' }, localContext(join(cache, 'unused'))))
      oursChars += (row as { text: string }).text.length;
    return 1;
  };
  const baseline = async () => {
    mammothChars = (await mammoth.extractRawText({ path: file })).value.length;
    return 1;
  };
  await ours();
  await baseline();
  const r = await compare(ours, baseline);
  return {
    paragraphs: 5000,
    bytes: (await readFile(file)).length,
    ours_chars: oursChars,
    mammoth_chars: mammothChars,
    ours_docs_per_s: round(1 / r.ours.seconds, 2),
    mammoth_docs_per_s: round(1 / r.baseline.seconds, 2),
    ratio: round(r.ratio, 3),
    cpu_ratio: round(r.cpuRatio, 3),
  };
}

async function pdf(pdfFile: string) {
  const outTxt = join(cache, 'pdftotext.txt');
  const r = await compare(
    async () => {
      let pages = 0;
      for await (const _ of documentSplitterDef.run(pdfFile, { separators: 'page' }, localContext(join(cache, 'unused')))) pages++;
      return pages;
    },
    async () => {
      await run('pdftotext', ['-enc', 'UTF-8', pdfFile, outTxt]);
      return PDF_PAGES;
    },
  );
  await rm(outTxt, { force: true });
  return {
    pages: r.ours.count,
    ours_pages_per_s: round(r.ours.count / r.ours.seconds, 1),
    pdftotext_pages_per_s: round(r.baseline.count / r.baseline.seconds, 1),
    ratio: round(r.ratio, 3),
    cpu_ratio: round(r.cpuRatio, 3),
  };
}

async function chunks(pdfFile: string) {
  // the same extracted text for both: what documentSplitter reads from the PDF
  const pages: string[] = [];
  for await (const row of documentSplitterDef.run(pdfFile, { separators: 'page' }, localContext(join(cache, 'unused'))))
    pages.push((row as { text: string }).text);
  const text = pages.join('\n\n');
  const txt = join(cache, 'extracted.txt');
  await writeFile(txt, text);
  const { getEncoding } = await import('js-tiktoken');
  const { RecursiveCharacterTextSplitter } = await import('@langchain/textsplitters');
  const enc = getEncoding('cl100k_base');
  const splitter = new RecursiveCharacterTextSplitter({
    chunkSize: TOKEN_LIMIT,
    chunkOverlap: TOKEN_OVERLAP,
    lengthFunction: (s: string) => enc.encode(s).length,
  });
  const params: DocumentSplitterParams = { separators: ['token_limit'], limit: TOKEN_LIMIT, overlap: TOKEN_OVERLAP };
  const ourSplit = async () => {
    let n = 0;
    for await (const _ of documentSplitterDef.run(txt, params, localContext(join(cache, 'unused')))) n++;
    return n;
  };
  // one untimed run each: both load their cl100k_base ranks once per process, not per document
  await ourSplit();
  await splitter.splitText(text.slice(0, 1000));
  const r = await compare(ourSplit, async () => (await splitter.splitText(text)).length);
  const ours = r.ours;
  const lc = r.baseline;
  await rm(txt, { force: true });
  const oursRate = ours.count / ours.seconds;
  const lcRate = lc.count / lc.seconds;
  // chunks/s ratio: the (median) time ratio on the same text, scaled by how many chunks each made
  const ratio = r.ratio * (ours.count / lc.count);
  return {
    characters: text.length,
    limit: TOKEN_LIMIT,
    overlap: TOKEN_OVERLAP,
    ours_chunks: ours.count,
    langchain_chunks: lc.count,
    ours_chunks_per_s: round(oursRate, 1),
    langchain_chunks_per_s: round(lcRate, 1),
    ratio: round(ratio, 3),
    chars_per_s_ratio: round(r.ratio, 3),
    cpu_ratio: round(r.cpuRatio, 3),
    bar: BARS.chunks,
    pass: ratio >= BARS.chunks,
  };
}

async function memory(pdfFile: string) {
  const long = await longVideo();
  const v = await workerRss('videos', 'video', long);
  const p = await workerRss('docs', 'doc', pdfFile);
  const entry = (r: typeof v) => ({
    rows: r.rows,
    seconds: round(r.seconds, 1),
    worker_rss_mb: round(r.nodeMb, 1),
    ffmpeg_rss_mb: round(r.ffmpegMb, 1),
    bar_mb: BARS.rssMb,
    pass: r.nodeMb + r.ffmpegMb < BARS.rssMb,
  });
  return { [`video_${LONG_SECONDS}s_${LONG_FPS}fps_at_1fps`]: entry(v), [`pdf_${PDF_PAGES}_pages`]: entry(p) };
}

async function main() {
  await mkdir(cache, { recursive: true });
  const pdfFile = await benchPdf();
  // BENCH_ONLY=frames,vsplit,pdf,docx,chunks,memory runs a subset (for working on one part); the default is all
  const only = new Set((process.env.BENCH_ONLY ?? 'frames,vsplit,pdf,docx,chunks,memory').split(','));
  const result = {
    ...(only.has('frames') ? { frames: await frames() } : {}),
    ...(only.has('vsplit') ? { video_split_fast: await vsplit() } : {}),
    ...(only.has('pdf') ? { pdf: await pdf(pdfFile) } : {}),
    ...(only.has('docx') ? { docx: await docx() } : {}),
    ...(only.has('chunks') ? { chunks: await chunks(pdfFile) } : {}),
    ...(only.has('memory') ? { memory: await memory(pdfFile) } : {}),
    rounds: ROUNDS,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(`BENCH ${JSON.stringify(result)}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
