#!/usr/bin/env -S node --import tsx
import { startWorker } from './start-worker';

/** `tessera-worker [queue ...]`: run a worker until SIGTERM/SIGINT, then finish active jobs and exit. */
const queues = process.argv
  .slice(2)
  .flatMap((a) => a.split(','))
  .filter(Boolean);
startWorker({ queues }).then(
  (w) => {
    const shutdown = () => {
      w.stop().then(
        () => process.exit(0),
        (e) => {
          console.error(e);
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  },
  (e: Error) => {
    console.error(`tessera worker: ${e.message}`);
    process.exit(1);
  },
);
