import { mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pauseSource, resumeSource, schedulerId, sourceStatuses, SOURCES_QUEUE } from '@tessera/runtime';
import { startHarness, type Harness } from '../support/harness';
import { spawnWorkers, stopWorkers, type WorkerProcess } from '../support/worker-process';
import { uniqueId } from '../support/names';
import { waitFor } from '../support/wait';
import { runCli } from '../support/cli';
import { sourcing } from '../pipelines/sourcing/index';

/**
 * Scheduled runs on BullMQ job schedulers, with two real worker processes: each tick is one run
 * for the whole fleet; a folder that is not there fails its runs with the error recorded, and the
 * next tick after it appears ingests it; pause and resume; apply updates a changed schedule and
 * removes a removed source's; the CLI shows and drives all of it.
 */
const PIPELINES = path.resolve(import.meta.dirname, '../pipelines/sourcing');
const dir = path.join(tmpdir(), `tessera-sched-${uniqueId(4)}`);
const env = { SRC_DIR: dir, SRC_EVERY: '1000', SRC_PAGE: '2' };
let h: Harness;
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  Object.assign(process.env, env);
  h = await startHarness(PIPELINES);
  await h.engine.apply(sourcing(env)); // (this file imported the pipeline module before env was set)
  const workerEnv = { ...h.cfg.env, ...env, TESSERA_PIPELINES: PIPELINES };
  workers.push(...(await spawnWorkers(2, workerEnv)));
}, 120_000);
afterAll(async () => {
  await stopWorkers(workers);
  await h?.close();
  await rm(dir, { recursive: true, force: true });
});

const states = () => h.engine.store.sources;
const runs = () => states().runs('sourcing', 'inbox', 1000);
const until = <T>(what: string, probe: () => Promise<T | undefined | false>) => waitFor(what, probe, { everyMs: 200 });
const files = async () => (await h.engine.store.select('sourcing', 'files', { orderBy: ['id'] })).map((r) => r.id);

test('a source that fails records the error on its runs and is retried at the next tick', async () => {
  const failed = await until('a failed run', async () => (await runs()).find((r) => r.status === 'failed'));
  expect(failed.error).toMatch(/folder .* does not exist/);
  expect(failed.tick).toMatch(/^repeat:source:sourcing:inbox:/);
  await mkdir(path.join(dir, 'sub'), { recursive: true });
  for (const k of ['a.txt', 'b.txt', 'sub/c.txt']) await writeFile(path.join(dir, k), k);
  await until('the files ingested', async () => (await files()).length === 3);
  expect(await files()).toEqual(['dir/a.txt', 'dir/b.txt', 'dir/sub/c.txt']);
});

test('two workers, one tick: one run per tick, runs never overlap, each file ingested once', async () => {
  await writeFile(path.join(dir, 'd.txt'), 'd');
  await until('d ingested', async () => (await files()).includes('dir/d.txt'));
  // a few more ticks, so both workers have had the chance to take one
  const seen = (await runs()).length;
  await until('three more ticks', async () => (await runs()).length >= seen + 3);
  const all = await runs();
  const ticks = all.map((r) => r.tick);
  expect(new Set(ticks).size).toBe(ticks.length); // every tick made exactly one run (or one skip)
  const done = all.filter((r) => r.status === 'done' || r.status === 'failed').sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime());
  for (let i = 1; i < done.length; i++) expect(done[i]!.startedAt.getTime()).toBeGreaterThanOrEqual(done[i - 1]!.finishedAt!.getTime());
  const versions = await h.engine.store.versions('sourcing', 'files');
  expect(versions.reduce((n, v) => n + v.inserts, 0)).toBe(4);
  expect(versions.reduce((n, v) => n + v.updates, 0)).toBe(0);
  expect(await h.engine.queue(SOURCES_QUEUE).getJobScheduler(schedulerId('sourcing', 'inbox'))).toMatchObject({ every: 1000 });
});

test('pause stops the ticks (a tick already queued is skipped); resume starts them again from the same state', async () => {
  await pauseSource(h.engine, 'sourcing', 'inbox');
  expect(await h.engine.queue(SOURCES_QUEUE).getJobScheduler(schedulerId('sourcing', 'inbox'))).toBeUndefined();
  const pausedAt = new Date();
  await writeFile(path.join(dir, 'e.txt'), 'e');
  await new Promise((r) => setTimeout(r, 3000));
  const after = (await runs()).filter((r) => r.startedAt > pausedAt);
  expect(after.filter((r) => r.status !== 'skipped')).toEqual([]);
  expect(await files()).not.toContain('dir/e.txt');
  expect((await sourceStatuses(h.engine, 'sourcing')).find((s) => s.name === 'inbox')).toMatchObject({ paused: true, nextRun: null });

  await resumeSource(h.engine, 'sourcing', 'inbox');
  await until('e ingested after resume', async () => (await files()).includes('dir/e.txt'));
  const versions = await h.engine.store.versions('sourcing', 'files');
  expect(versions.reduce((n, v) => n + v.inserts, 0)).toBe(5);
});

test('the CLI: schedules, backfill, pause and resume', async () => {
  const cliEnv = { ...h.cfg.env, ...env, TESSERA_PIPELINES: PIPELINES };
  const list = await runCli(['schedules', 'sourcing'], cliEnv);
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/sourcing\.inbox\s+files\s+every 1s\s+(done|running)/);
  expect(list.stdout).toMatch(/5 file\(s\) seen/);
  // so the backfill is the one that finds f.txt: paused first, then the run lock taken once. A tick
  // that checked the pause (under that lock) before it was set may still be starting its run, and
  // would list the folder; once the lock is free it has ended, and every later tick sees the pause
  await pauseSource(h.engine, 'sourcing', 'inbox');
  await until('the run lock free', async () => {
    const unlock = await states().tryRunLock('sourcing', 'inbox');
    await unlock?.();
    return unlock !== null;
  });
  expect((await runs()).filter((r) => r.status === 'running')).toEqual([]);
  await writeFile(path.join(dir, 'f.txt'), 'f');
  const backfill = await runCli(['backfill', 'sourcing', 'inbox'], cliEnv);
  expect(backfill.stdout + backfill.stderr).toMatch(/sourcing\.inbox: run \d+ done: 1 inserted, 0 updated, 0 deleted, 0 rejected/);
  const full = await runCli(['backfill', 'sourcing', 'inbox', '--full'], cliEnv);
  expect(full.stdout).toMatch(/0 inserted, 6 updated/);
  const resume = await runCli(['resume', 'sourcing', 'inbox'], cliEnv);
  expect(resume.stdout).toMatch(/resumed, on its schedule/);
  const status = await runCli(['status', 'sourcing'], cliEnv);
  expect(status.stdout).toMatch(/sources:[\s\S]*sourcing\.inbox/);
  const bad = await runCli(['backfill', 'sourcing', 'nope'], cliEnv);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/declares no source nope/);
}, 120_000);

test('apply updates a changed schedule and removes a removed source', async () => {
  await h.engine.apply(sourcing({ ...env, SRC_EVERY: '5m' }));
  const q = h.engine.queue(SOURCES_QUEUE);
  expect(await q.getJobScheduler(schedulerId('sourcing', 'inbox'))).toMatchObject({ every: 300_000 });
  await h.engine.apply(sourcing({ ...env, SRC_EVERY: undefined, SRC_CRON: '*/10 * * * *' }));
  expect(await q.getJobScheduler(schedulerId('sourcing', 'inbox'))).toMatchObject({ pattern: '*/10 * * * *' });
  expect((await sourceStatuses(h.engine, 'sourcing'))[0]!.scheduleText).toBe('cron */10 * * * *');
  await h.engine.apply(sourcing({}));
  expect(await q.getJobScheduler(schedulerId('sourcing', 'inbox'))).toBeUndefined();
  expect(await sourceStatuses(h.engine, 'sourcing')).toEqual([]);
  // the runs stay as history
  expect((await runs()).length).toBeGreaterThan(0);
});
