import { copyFile } from 'node:fs/promises';
import path from 'node:path';
import { startHarness } from '../support/harness';
import { tempDir } from '../support/temp-dir';
import { viewsPipeline } from '../pipelines/views';
import { spawnWorkers, stopWorkers, type WorkerProcess } from '../support/worker-process';
import { ffmpeg } from '../../packages/iterators/test/support/run';

/**
 * Views through real worker processes: frame extraction shared by two workers, one of them
 * SIGKILLed while iterating. Each base row's view rows commit with its iteration cell, so the
 * killed job is retried elsewhere and every video ends with exactly its frames, none twice.
 */
const PIPELINE = path.resolve(import.meta.dirname, '../pipelines/views');
const VIDEOS = 8;
const FRAMES = 30; // 6 s at fps 5

const dir = tempDir('tessera-views-fleet-');

test('two worker processes iterate videos into frames; a worker killed mid-iteration loses and duplicates nothing', async () => {
  const first = path.join(dir, 'v0.mp4');
  await ffmpeg('-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=30:duration=6', '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', first);
  for (let i = 1; i < VIDEOS; i++) await copyFile(first, path.join(dir, `v${i}.mp4`));

  const h = await startHarness(PIPELINE);
  const env = { ...h.cfg.env, TESSERA_TEST_VIEWS_FPS: '5' }; // the workers' pipeline module reads it
  await h.engine.apply(viewsPipeline(false, 5));
  let workers: WorkerProcess[] = [];
  try {
    workers = await spawnWorkers(2, env);
    await h.engine.insert(
      'views',
      'videos',
      Array.from({ length: VIDEOS }, (_, i) => ({ id: `v${i}`, video: path.join(dir, `v${i}.mp4`) })),
    );
    const frameCount = async () => (await h.engine.store.status('views', 'frames')).rows;
    for (let i = 0; i < 600 && (await frameCount()) === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await workers[0]!.kill('SIGKILL')).toBeNull();
    expect(await frameCount()).toBeLessThan(VIDEOS * FRAMES); // killed mid-run

    await h.engine.waitIdle('views', { timeoutMs: 120_000 });
    const frames = await h.engine.store.select('views', 'frames', { orderBy: ['id', 'pos'] });
    for (let i = 0; i < VIDEOS; i++) {
      const mine = frames.filter((f) => f.id === `v${i}`);
      expect(mine.map((f) => f.pos)).toEqual([...Array(FRAMES).keys()]);
      expect(mine.map((f) => (f.frameAttrs as { index: number }).index)).toEqual([...Array(FRAMES).keys()].map((k) => k * 6));
      expect(mine.every((f) => f.second === (f.frameAttrs as { time: number }).time)).toBe(true);
    }
    expect((await h.engine.store.select('views', 'videos')).map((v) => v.frames)).toEqual(Array(VIDEOS).fill(FRAMES));
    // the view's versions account for exactly the rows that are there
    const versions = await h.engine.store.versions('views', 'frames');
    expect(versions.reduce((a, v) => a + v.inserts, 0)).toBe(VIDEOS * FRAMES);
    expect(await workers[1]!.stop()).toBe(0);
  } finally {
    await stopWorkers(workers);
    await h.close();
  }
});
