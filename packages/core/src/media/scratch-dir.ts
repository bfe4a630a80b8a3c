import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where scratch directories go: TESSERA_TMPDIR, else the system's temporary directory. */
const scratchRoot = () => process.env.TESSERA_TMPDIR || tmpdir();

/** This process: its id and when it started (an id alone is reused: a container's worker has the same one each time). */
const INCARNATION = `${process.pid}.${Math.round(performance.timeOrigin)}`;
/** `tessera-<what>-<pid>.<start ms>-<random>`: after a crash, whose it was. */
const SCRATCH_NAME = /^tessera-[a-z]+-(\d+)\.(\d+)-[A-Za-z0-9]{6}$/;

/**
 * A private scratch directory (video segments, a downloaded source object); `dispose` removes it
 * (call it in a finally). Named with this process's id and start, so that one a killed process left behind is
 * removed by the next worker to start here (removeStaleScratch) rather than fill the disk: in a
 * pod, /tmp is an emptyDir that outlives the container's restarts.
 */
export async function scratchDir(what: string): Promise<{ path: string; dispose: () => Promise<void> }> {
  const path = await mkdtemp(join(scratchRoot(), `tessera-${what}-${INCARNATION}-`));
  return { path, dispose: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Remove the scratch directories of processes that are gone: those of a process id no process has
 * now, and those of a former process with this process's id (a container's worker has the same id
 * each time it restarts). Those of live processes stay: processes sharing the directory must see each
 * other's ids (one machine, or one container). Returns how many were removed.
 */
export async function removeStaleScratch(): Promise<number> {
  const root = scratchRoot();
  let removed = 0;
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const m = SCRATCH_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    const gone = pid === process.pid ? `${m[1]}.${m[2]}` !== INCARNATION : !isAlive(pid);
    if (!gone) continue;
    await rm(join(root, name), { recursive: true, force: true });
    removed++;
  }
  return removed;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, as another user's
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
