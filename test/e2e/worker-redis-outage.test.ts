import { startHarness, makeItems } from '../support/harness';
import { REDIS_URL, onPort, portOf } from '../support/services';
import { freePort, startTcpProxy } from '../support/tcp-proxy';
import { spawnWorker } from '../support/worker-process';
import { waitFor } from '../support/wait';

/**
 * A worker process whose Redis goes away: it says so once (one structured warning, not a stack
 * trace per reconnect attempt), waits, and when Redis is back says that too and computes the rows
 * written meanwhile, with no restart and no manual step.
 */
test('a worker rides out a Redis outage: one warning, one recovery line, the work done after', async () => {
  const h = await startHarness();
  const port = await freePort();
  let proxy: { close(): Promise<void> } | undefined = await startTcpProxy(port, portOf(REDIS_URL));
  // the worker reaches Redis through the proxy; the test's engine reaches it directly
  const worker = await spawnWorker({ ...h.cfg.env, TESSERA_REDIS_URL: onPort(REDIS_URL, port) });
  const lines = () => worker.output().split('\n');
  try {
    await h.engine.apply(h.def);
    await h.engine.insert('shapes', 'items', makeItems(20));
    await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });

    await proxy.close();
    proxy = undefined;
    await waitFor('the worker to notice Redis is gone', async () => lines().some((l) => l.includes('Redis unreachable')));
    // written while the worker cannot reach its queues
    await h.engine.insert('shapes', 'items', makeItems(20, 20));
    // several reconnect attempts later (ioredis retries within a few seconds), still one line
    await new Promise((r) => setTimeout(r, 3000));

    proxy = await startTcpProxy(port, portOf(REDIS_URL));
    await h.engine.waitIdle('shapes', { timeoutMs: 120_000 });
    await waitFor('the recovery line', async () => lines().some((l) => l.includes('Redis reachable again')));
    const rows = await h.engine.store.select('shapes', 'items', { columns: ['id', 'upper'], orderBy: ['id'] });
    expect(rows).toHaveLength(40);
    expect(rows.every((r) => typeof r.upper === 'string' && r.upper.length > 0)).toBe(true);
    expect(lines().filter((l) => l.includes('Redis unreachable'))).toHaveLength(1);
    // BullMQ's own unheard error events used to print a raw stack per attempt
    expect(lines().filter((l) => l.startsWith('Error: connect'))).toEqual([]);
    expect(worker.child.exitCode).toBeNull();
  } finally {
    await worker.stop();
    await proxy?.close();
    await h.close();
  }
}, 300_000);

/**
 * A worker told to stop while Redis is unreachable cannot complete or hand back the jobs it holds,
 * and used to wait for Redis forever (Kubernetes then kills it at the end of its grace period).
 * It now stops without Redis once TESSERA_STOP_REDIS_WAIT_MS passes, saying so, and nothing is
 * lost: the jobs it held go to the rest of the fleet when their locks lapse.
 */
test('a worker stopped while Redis is unreachable exits, and the jobs it held are done by the fleet', async () => {
  // short locks, so the held jobs come back within the test; slow UDF calls, so jobs are held when Redis goes
  const h = await startHarness(undefined, { TESSERA_LOCK_MS: '2000' });
  const port = await freePort();
  let proxy: { close(): Promise<void> } | undefined = await startTcpProxy(port, portOf(REDIS_URL));
  const worker = await spawnWorker({
    ...h.cfg.env,
    TESSERA_REDIS_URL: onPort(REDIS_URL, port),
    TESSERA_TEST_UDF_DELAY_MS: '1500',
    TESSERA_STOP_REDIS_WAIT_MS: '1000',
  });
  let rest: Awaited<ReturnType<typeof spawnWorker>> | undefined;
  try {
    await h.engine.apply(h.def);
    await h.engine.insert('shapes', 'items', makeItems(60));
    await waitFor('the worker to hold jobs', async () => (await h.engine.queue('cpu').getActiveCount()) > 0);
    await proxy.close();
    proxy = undefined;
    // resolves with the exit code once the process has exited (the test's timeout is the bound)
    expect(await worker.stop()).toBe(0);
    expect(worker.output()).toContain('stopping without Redis');
    expect(await h.engine.queue('cpu').getActiveCount()).toBeGreaterThan(0); // held, neither completed nor failed

    rest = await spawnWorker(h.cfg.env);
    await h.engine.waitIdle('shapes', { timeoutMs: 180_000 });
    const rows = await h.engine.store.select('shapes', 'items', { columns: ['id', 'text', 'upper'], orderBy: ['id'] });
    expect(rows).toHaveLength(60);
    expect(rows.filter((r) => r.upper !== String(r.text).toUpperCase())).toEqual([]);
  } finally {
    await worker.kill('SIGKILL');
    await rest?.stop();
    await proxy?.close();
    await h.close();
  }
}, 300_000);
