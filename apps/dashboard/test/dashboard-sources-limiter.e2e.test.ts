/**
 * The dashboard's sources and rate-limit sections in headless Chromium (Debian's chromium, driven by
 * playwright-core): a folder source that has run once (schedule, last run with its row counts and
 * duration, next run, watermark) and the fleet-wide limiter buckets a real RedisRateGate touched
 * (configured limits, what is left, in-flight calls, a pause). Read-only: nothing here acts.
 * Screenshots go to .tessera/test-output/ (not the repository).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { Reservation } from '@tessera/core';
import { RedisRateGate, runSource, sourceStatuses, type LimitedRateKey } from '@tessera/runtime';
import { startDashboardServer, type RunningDashboard } from '@tessera/dashboard';
import { runPipeline, type Harness } from '../../../test/support/harness';
import { launchBrowser, screenshot } from '../../../test/support/browser';
import { tempDir } from '../../../test/support/temp-dir';

const PIPELINES = path.resolve(import.meta.dirname, '../../../test/pipelines/sourcing');
const LONG = 300_000;
const PAUSE_MS = 600_000;
const running: LimitedRateKey = { provider: 'openai', model: 'gpt-dash', keyHash: 'k1', limits: { rpm: 600, tpm: 6000, maxConcurrency: 4 } };
const paused: LimitedRateKey = { provider: 'anthropic', model: 'claude-dash', limits: { rpm: 60 } };

const dir = tempDir('tessera-dash-src-');
let h: Harness;
let dashboard: RunningDashboard;
let browser: Browser;
let page: Page;
let held: Reservation;
let pausedAt: number;

beforeAll(async () => {
  for (const name of ['a.txt', 'b.txt', 'c.txt']) await writeFile(path.join(dir, name), name);
  // a schedule that does not tick during the test (the run below is the one run)
  Object.assign(process.env, { SRC_DIR: dir, SRC_CRON: '0 0 1 1 *', SRC_PAGE: '2' });
  h = await runPipeline(PIPELINES);
  const run = await runSource(h.engine, h.def, 'inbox');
  expect([run.status, run.inserted]).toEqual(['done', 3]);

  // the gate as workers use it: one call in flight on one bucket, another bucket paused by a 429
  const gate = new RedisRateGate({ redis: h.engine.redis, prefix: `${h.cfg.queuePrefix}:rl:`, env: {} });
  held = await gate.acquire(running, 1000);
  await (await gate.acquire(paused, 10)).settle(10);
  pausedAt = Date.now();
  await gate.pause(paused, PAUSE_MS);

  dashboard = await startDashboardServer({ port: 0, host: '127.0.0.1', config: h.cfg, token: '' });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1400 } });
}, LONG);

afterAll(async () => {
  await held?.settle(0);
  await browser?.close();
  await dashboard?.close();
  await h?.close();
  for (const k of ['SRC_DIR', 'SRC_CRON', 'SRC_PAGE']) delete process.env[k];
}, LONG);

const cells = async (testid: string) => (await page.getByTestId(testid).innerText()).split('\t').map((s) => s.trim());
const shown = (iso: string | null | undefined) => (iso ? `${iso.slice(0, 19).replace('T', ' ')}Z` : '');

test(
  'a folder source: schedule, last run with its rows and duration, next run, watermark',
  async () => {
    await page.goto(`http://127.0.0.1:${dashboard.port}/`);
    await page.getByTestId('source-sourcing.inbox').waitFor();
    const [s] = await sourceStatuses(h.engine, 'sourcing');
    const r = s!.lastRun!;
    expect(s!.nextRun).not.toBeNull();
    const row = await cells('source-sourcing.inbox');
    expect(row).toEqual([
      'sourcing.inbox',
      'files',
      s!.scheduleText,
      `done ${shown(r.startedAt.toISOString())} (manual)`,
      '3',
      '0',
      '0',
      '0',
      `${((r.finishedAt!.getTime() - r.startedAt.getTime()) / 1000).toFixed(1)} s`,
      shown(s!.nextRun!.toISOString()),
      '3 file(s) seen',
      '',
    ]);
    expect(s!.scheduleText).not.toBe('');
  },
  LONG,
);

test(
  'limiter buckets: configured limits, what is left, calls in flight, a pause',
  async () => {
    await page.goto(`http://127.0.0.1:${dashboard.port}/`);
    await page.getByTestId('bucket-openai:gpt-dash:k1').waitFor();
    // provider, model, key, rpm, tpm, max concurrency, learned, requests left, tokens left, in flight, concurrency left, paused until
    const live = await cells('bucket-openai:gpt-dash:k1');
    expect(live.slice(0, 7)).toEqual(['openai', 'gpt-dash', 'k1', '600', '6000', '4', '— / —']);
    // 95% of 6000 tokens a minute, of which the 1000 reserved are booked for the next ~10 s
    const tokensLeft = Number(live[8]);
    expect(tokensLeft).toBeGreaterThanOrEqual(5700 - 1000);
    expect(tokensLeft).toBeLessThanOrEqual(5700);
    expect(Number(live[7])).toBeGreaterThanOrEqual(569);
    expect(Number(live[7])).toBeLessThanOrEqual(570);
    expect(live.slice(9, 12)).toEqual(['1', '3', '']);

    const stopped = await cells('bucket-anthropic:claude-dash:-');
    expect(stopped.slice(0, 9)).toEqual(['anthropic', 'claude-dash', '', '60', '—', '—', '— / —', '0', '—']);
    expect(stopped.slice(9, 11)).toEqual(['—', '—']);
    const until = Date.parse(stopped[11]!.replace(' ', 'T'));
    // the Redis clock and this host's are the same machine here; allow for the second the display drops
    expect(until).toBeGreaterThanOrEqual(pausedAt + PAUSE_MS - 2000);
    expect(until).toBeLessThanOrEqual(Date.now() + PAUSE_MS);
    await screenshot(page, 'dashboard-sources-limiter');
  },
  LONG,
);
