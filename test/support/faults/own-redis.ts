import { spawn, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { freePort } from './free-port';

/** A redis-server of the test's own on a free port, so FLUSHALL loses only the test's data. */
export interface OwnRedis {
  url: string;
  flushAll(): Promise<void>;
  /** write a snapshot now (needs `snapshotDir`) */
  save(): Promise<void>;
  /**
   * Stop the server without saving and start a new one on the same port from the last snapshot:
   * what a crash and a restart from an older RDB file look like (a new run id, the writes since the
   * snapshot lost, everything before it kept).
   */
  restartFromSnapshot(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOwnRedis(opts: { snapshotDir?: string } = {}): Promise<OwnRedis> {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'];
  if (opts.snapshotDir) args.push('--dir', opts.snapshotDir, '--dbfilename', 'snapshot.rdb');
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  probe.on('error', () => {});
  const startServer = async (): Promise<ChildProcess> => {
    const started = spawn('redis-server', args, { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        if (probe.status === 'wait' || probe.status === 'end') await probe.connect();
        await probe.ping();
        return started;
      } catch (e) {
        if (i > 50) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const exited = (c: ChildProcess) => new Promise((r) => (c.exitCode === null && c.signalCode === null ? c.once('exit', r) : r(null)));
  let child = await startServer();
  return {
    url,
    async flushAll() {
      await probe.flushall();
    },
    async save() {
      await probe.save();
    },
    async restartFromSnapshot() {
      child.kill('SIGKILL');
      await exited(child);
      child = await startServer();
    },
    async stop() {
      probe.disconnect();
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}
