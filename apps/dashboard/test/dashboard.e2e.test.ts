/**
 * The dashboard end to end in headless Chromium (Debian's chromium, driven by playwright-core): a
 * real pipeline computed by real workers, then what a person sees and does: column progress, the
 * full error messages, retrying failed cells, versions and revert, lineage down to exports, queues
 * with a failed job and its retry; actions refused without the token and in read-only mode.
 * Screenshots go to .tessera/test-output/ (not the repository).
 */
import type { Browser, Page } from 'playwright-core';
import { startDashboardServer, type RunningDashboard } from '@tessera/dashboard';
import { makeItems, runPipeline, type Harness } from '../../../test/support/harness';
import { launchBrowser, screenshot } from '../../../test/support/browser';

const TOKEN = 'dashboard-test-token-0123456789';
const LONG = 300_000;

let h: Harness;
let dashboard: RunningDashboard;
let readOnly: RunningDashboard;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  h = await runPipeline();
  await h.engine.insert('shapes', 'items', makeItems(120));
  await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
  dashboard = await startDashboardServer({ port: 0, host: '127.0.0.1', config: h.cfg, token: TOKEN });
  readOnly = await startDashboardServer({ port: 0, host: '127.0.0.1', config: h.cfg, token: '' });
  browser = await launchBrowser();
  page = await browser.newPage({ viewport: { width: 1400, height: 1800 } });
}, LONG);

afterAll(async () => {
  delete process.env.TESSERA_TEST_HEAL;
  await browser?.close();
  await dashboard?.close();
  await readOnly?.close();
  await h?.close();
}, LONG);

const text = (testid: string) => page.getByTestId(testid).innerText();

test(
  'pipelines, tables and columns with their progress; errors with the full message; lineage',
  async () => {
    await page.goto(`http://127.0.0.1:${dashboard.port}/`);
    await page.getByTestId('table-shapes.items').waitFor();
    const status = await h.engine.store.status('shapes', 'items');
    expect(await text('table-shapes.items')).toContain(`${status.rows} rows`);
    for (const c of status.columns) {
      const row = await text(`column-shapes.items.${c.column}`);
      const cells = row.split('\t').map((s) => s.trim());
      // name, type, bar, done, pending, failed
      expect([cells[0], Number(cells[3]), Number(cells[4]), Number(cells[5])]).toEqual([c.column, c.done, c.pending, c.failed]);
    }
    const ratio = status.columns.find((c) => c.column === 'ratio')!;
    expect(ratio.failed).toBeGreaterThan(0); // rows whose n is a multiple of 7
    await screenshot(page, 'dashboard-pipelines');

    await page.getByTestId('errors-shapes.items').click();
    await page.getByTestId('errors').waitFor();
    const errors = await h.engine.store.errors('shapes', 'items', { limit: 200 });
    const shown = await text('errors');
    for (const e of errors) expect(shown).toContain(`${e.errortype}: ${e.errormsg}`);
    expect(shown).toContain('is a multiple of 7');

    // lineage: column to column, and the view of columns a column reads
    const edges = await page.getByTestId('edge').allInnerTexts();
    expect(edges.map((e) => e.replace(/\s+/g, ' ').trim())).toEqual(
      expect.arrayContaining(['shapes.items.text → shapes.items.upper', 'shapes.items.upper → shapes.items.shout']),
    );
  },
  LONG,
);

test(
  'retry failed cells and revert need the token; with it they act',
  async () => {
    await page.goto(`http://127.0.0.1:${dashboard.port}/`);
    await page.getByTestId('table-shapes.items').waitFor();
    // without the token: refused
    const failedBefore = (await h.engine.store.status('shapes', 'items')).columns.find((c) => c.column === 'ratio')!.failed;
    expect(failedBefore).toBeGreaterThan(1);
    await page.getByTestId('retry-cells-shapes.items').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=notice]')?.textContent?.startsWith('refused'));
    expect(await text('notice')).toContain('token');

    // the data source is fixed; with the token the failed cells are retried and computed
    process.env.TESSERA_TEST_HEAL = '1';
    await page.getByTestId('token').fill(TOKEN);
    await page.getByTestId('retry-cells-shapes.items').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=notice]')?.textContent?.startsWith('cells/retry'));
    await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
    // every "multiple of 7" cell is computed now; only n=0 still fails (1/0 is not a float)
    const errors = await h.engine.store.errors('shapes', 'items', { limit: 200 });
    expect(errors.filter((e) => e.errormsg.includes('multiple of 7'))).toEqual([]);
    expect((await h.engine.store.status('shapes', 'items')).columns.find((c) => c.column === 'ratio')!.failed).toBe(1);

    // versions, then revert the latest (an insert made here)
    await h.engine.insert('shapes', 'items', makeItems(3, 1000));
    await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
    const before = await h.engine.store.versions('shapes', 'items');
    await page.getByTestId('versions-shapes.items').click();
    await page.getByTestId('versions').waitFor();
    expect((await page.getByTestId('versions').locator('tr').count()) - 1).toBe(before.length);
    await page.getByTestId('revert').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=notice]')?.textContent?.startsWith('versions/revert'));
    const rows = await h.engine.store.select('shapes', 'items', {});
    expect(rows.map((r) => r.id)).not.toContain('item-001000');
    await screenshot(page, 'dashboard-versions');
  },
  LONG,
);

test(
  'queues with counts, a failed job with its reason, and its retry',
  async () => {
    // an ingest job naming a pipeline that does not exist fails at once, without retries
    const job = await h.engine.queue('ingest').add('insert', { pipeline: 'nope', table: 'nothing', op: 'insert', rows: [{ id: 'x' }] });
    await page.goto(`http://127.0.0.1:${dashboard.port}/`);
    await page.getByTestId('token').fill(TOKEN);
    await page.getByTestId(`retry-job-${job.id}`).waitFor({ timeout: 60_000 });
    const failed = await h.engine.queue('ingest').getJob(job.id!);
    expect(await page.getByTestId('queues').innerText()).toContain(failed!.failedReason);
    expect(await text('queue-ingest')).toMatch(/^ingest/);
    await screenshot(page, 'dashboard-queues');
    const finishedBefore = failed!.finishedOn;
    await page.getByTestId(`retry-job-${job.id}`).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=notice]')?.textContent?.startsWith('jobs/retry'));
    // it ran again (and failed again, for the same reason)
    for (let i = 0; i < 100; i++) {
      const again = await h.engine.queue('ingest').getJob(job.id!);
      if (again?.finishedOn && again.finishedOn !== finishedBefore) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect((await h.engine.queue('ingest').getJob(job.id!))?.finishedOn).not.toBe(finishedBefore);
  },
  LONG,
);

test(
  'read-only mode: the page says so and every action is refused',
  async () => {
    await page.goto(`http://127.0.0.1:${readOnly.port}/`);
    expect(await text('mode')).toBe('read-only');
    const r = await fetch(`http://127.0.0.1:${readOnly.port}/api/versions/revert`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ pipeline: 'shapes', table: 'items' }),
    });
    expect(r.status).toBe(403);
    const bad = await fetch(`http://127.0.0.1:${dashboard.port}/api/versions/revert`, {
      method: 'POST',
      headers: { authorization: 'Bearer wrong' },
      body: '{}',
    });
    expect(bad.status).toBe(401);
  },
  LONG,
);
