import { spawnSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { removeStaleScratch, scratchDir } from '../src/index';
import { tempDir } from '../../../test/support/temp-dir';
import { envForTests } from '../../../test/support/with-env';

/**
 * Scratch directories carry their process's id, so those a killed worker left behind (a video's
 * segments, a downloaded source object) are removed by the next worker to start, and no live
 * process's are.
 */
const root = tempDir('tessera-scratch-root-');
envForTests({ TESSERA_TMPDIR: root });

test('a scratch directory is named with its process id, under TESSERA_TMPDIR, and removed by dispose', async () => {
  const dir = await scratchDir('vsplit');
  expect(dir.path.slice(root.length + 1)).toMatch(new RegExp(`^tessera-vsplit-${process.pid}\\.\\d+-\\w{6}$`));
  await writeFile(join(dir.path, 'segment.mp4'), 'x');
  await dir.dispose();
  expect(await readdir(root)).not.toContain(dir.path.slice(root.length + 1));
});

test("removeStaleScratch removes the directories of gone processes and of a former process with this id, and keeps this process's, a live one's and anything else", async () => {
  // a process id that was a process's a moment ago and is nobody's now
  const gone = spawnSync('true').pid!;
  const mine = await scratchDir('audio'); // this process's, in use
  const names = {
    gone: `tessera-vsplit-${gone}.1700000000000-AbC123`,
    formerSelf: `tessera-source-${process.pid}.1700000000000-xYz789`,
    live: `tessera-audio-${process.ppid}.1700000000000-Qwe456`,
    olderNaming: 'tessera-vsplit-Rty012',
    other: 'somebody-elses-dir',
  };
  for (const name of Object.values(names)) {
    await mkdir(join(root, name));
    await writeFile(join(root, name, 'part'), 'x');
  }
  expect(await removeStaleScratch()).toBe(2);
  expect((await readdir(root)).sort()).toEqual([names.live, names.olderNaming, names.other, mine.path.slice(root.length + 1)].sort());
  await mine.dispose();
});
