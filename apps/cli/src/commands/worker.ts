import { startWorker } from '@tessera/worker';

/** `tessera worker [queue...]`: the same process as the worker image, in the foreground. */
export async function workerCommand(args: string[]) {
  const queues = args.flatMap((a) => a.split(',')).filter(Boolean);
  const w = await startWorker({ queues });
  console.error(`tessera worker: consuming ${w.queues.join(', ')}; health and metrics on :${w.port}`);
  await new Promise<void>((resolve) => {
    const stop = () => void w.stop().then(resolve);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
