import { spawnWorker, type WorkerProcess } from './worker-process';

/** Worker processes kept running as an orchestrator keeps containers: each that dies is replaced. */
export interface SupervisedFleet {
  /** workers that died (exited while the fleet was not stopping) */
  readonly deaths: number;
  /** stop every worker, replacing none */
  stop(): Promise<void>;
}

/** Start `size` real worker processes with this environment and replace each that dies, as Kubernetes restarts a container. */
export async function superviseFleet(env: Record<string, string>, size: number): Promise<SupervisedFleet> {
  const running: WorkerProcess[] = [];
  let deaths = 0;
  let stopping = false;
  const supervise = async (): Promise<void> => {
    let w: WorkerProcess | undefined;
    while (!w && !stopping) w = await spawnWorker(env).catch(() => undefined);
    if (!w) return;
    if (stopping) {
      await w.stop();
      return;
    }
    running.push(w);
    w.child.once('exit', () => {
      running.splice(running.indexOf(w), 1);
      if (stopping) return;
      deaths++;
      void supervise();
    });
  };
  await Promise.all(Array.from({ length: size }, () => supervise()));
  return {
    get deaths() {
      return deaths;
    },
    async stop() {
      stopping = true;
      await Promise.all(running.map((w) => w.stop()));
    },
  };
}
