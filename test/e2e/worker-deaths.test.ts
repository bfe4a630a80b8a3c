import path from 'node:path';
import { startHarness } from '../support/harness';
import { spawnWorker, type WorkerProcess } from '../support/worker-process';
import { openJobs, waitFor } from '../support/wait';

/**
 * A row whose computation kills its worker process (an out-of-memory kill, a native crash) fails
 * its own cell and nothing else: the other rows of its batch are computed, no cell is left pending,
 * and the workers stop dying on it. Two worker processes are kept running as an orchestrator
 * would (each that dies is replaced), with the fleet's periodic reconcile on.
 */
const POISON = path.resolve(import.meta.dirname, '../pipelines/poison');
const ROWS = 60;
const KILLERS: Record<number, string> = { 17: 'poison', 29: 'toxic', 41: 'venom' };
const text = (i: number) => (KILLERS[i] ? `row ${i} is ${KILLERS[i]}` : `row ${i} says hello`);

test('rows that kill their worker fail their own cells with WorkerDied; every other row is computed and the deaths stop', async () => {
  const h = await startHarness(POISON, { TESSERA_RECONCILE_EVERY_MS: '1000', TESSERA_RECONCILE_GRACE_MS: '300' });
  const fleet: WorkerProcess[] = [];
  let deaths = 0;
  let stopping = false;
  /** a worker that dies is replaced, as Kubernetes restarts a container */
  const supervise = async (): Promise<void> => {
    let w: WorkerProcess | undefined;
    while (!w && !stopping) w = await spawnWorker(h.cfg.env).catch(() => undefined);
    if (!w) return;
    fleet.push(w);
    w.child.once('exit', () => {
      fleet.splice(fleet.indexOf(w), 1);
      if (stopping) return;
      deaths++;
      void supervise();
    });
  };
  try {
    await h.engine.apply(h.def);
    await Promise.all([supervise(), supervise()]);
    const items = Array.from({ length: ROWS }, (_, i) => ({ id: `i${String(i).padStart(2, '0')}`, text: text(i) }));
    // one ingest job per row, as a producer sends them: the toxic row kills the worker applying its group
    const queue = h.engine.ingestQueue();
    await Promise.all(items.map((row) => queue.add('insert', { pipeline: 'poison', table: 'items', op: 'insert', rows: [row] })));
    await waitFor('every ingest job applied', async () => (await openJobs(h.engine, ['ingest'])) === 0, { timeoutMs: 600_000, everyMs: 500 });
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: ROWS, failed: 0 });
    await h.engine.waitIdle('poison', { timeoutMs: 600_000 });

    // each killer was refused after killing a worker twice while computed alone (a death marks one such cell per process)
    expect(deaths).toBeGreaterThanOrEqual(2 * Object.keys(KILLERS).length);
    const rows = await h.engine.store.select('poison', 'items', { withErrors: true, orderBy: ['id'] });
    expect(rows).toHaveLength(ROWS);
    const died = (column: string) =>
      new RegExp(`^the worker process died 2 times while computing column ${column} of row \\d+ alone \\(out of memory, a native crash`);
    for (const [i, row] of rows.entries()) {
      const { text } = items[i]!;
      const ok = { loud: text.toUpperCase(), size: text.length, tag: `#${text.length}` };
      // the cell whose computation killed fails, its dependents fail upstream, the row's other cells are computed
      if (i === 17) {
        expect(row).toMatchObject({ ...ok, loud: null, loud_errortype: 'WorkerDied', size: null, size_errortype: 'UpstreamError' });
        expect(row.loud_errormsg).toMatch(died('loud'));
      } else if (i === 29) {
        expect(row).toMatchObject({ ...ok, tag: null, tag_errortype: 'WorkerDied' });
        expect(row.tag_errormsg).toMatch(died('tag'));
      } else expect(row).toMatchObject(ok);
    }
    const iterationErrors = await h.engine.store.errors('poison', 'items', { column: 'words' });
    expect(iterationErrors.map((e) => [e.key.id, e.errortype])).toEqual([['i41', 'WorkerDied']]);
    const words = await h.engine.store.select('poison', 'words', { columns: ['id', 'word'] });
    expect(words).toHaveLength((ROWS - 1) * 4);
    expect(words.some((w) => w.id === 'i41')).toBe(false);
    const status = await h.engine.store.status('poison', 'items');
    expect(status.columns.every((c) => c.pending === 0)).toBe(true);

    // the fleet is whole and stays so: a new row is computed without another death
    const deathsBefore = deaths;
    await queue.add('insert', { pipeline: 'poison', table: 'items', op: 'insert', rows: [{ id: 'late', text: 'a late row' }] });
    await waitFor('the late row applied', async () => (await openJobs(h.engine, ['ingest'])) === 0);
    await h.engine.waitIdle('poison', { timeoutMs: 120_000 });
    const [late] = await h.engine.store.select('poison', 'items', { where: { id: 'late' } });
    expect(late).toMatchObject({ loud: 'A LATE ROW', size: 10, tag: '#10' });
    expect(deaths).toBe(deathsBefore);
  } finally {
    stopping = true;
    await Promise.all(fleet.map((w) => w.stop()));
    await h.close();
  }
}, 900_000);
