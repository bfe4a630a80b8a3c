#!/usr/bin/env node
/**
 * First step of `npm test`: checks, in well under a second, that this machine has what the suite
 * needs, and otherwise stops with the exact command that brings it. (`bash .ci/run` runs them all.)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
const problems = [];
const onPath = (bin) => {
  try {
    execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const listening = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, timeout: 400 });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true))
      .once('error', () => done(false))
      .once('timeout', () => done(false));
  });

if (Number(process.versions.node.split('.')[0]) < 20)
  problems.push([`Node ${process.versions.node} is too old`, 'install Node 20 or newer (24 LTS recommended)']);
if (!existsSync(path.join(ROOT, 'node_modules/.package-lock.json'))) problems.push(['dependencies are not installed', 'npm ci']);
const apt = [
  ['ffmpeg', 'ffmpeg'],
  ['ffprobe', 'ffmpeg'],
  ['pdftotext', 'poppler-utils'],
  ['chromium', 'chromium'],
].filter(([bin]) => !onPath(bin));
if (apt.length) {
  const pkgs = [...new Set(apt.map(([, p]) => p))].join(' ');
  problems.push([`missing ${apt.map(([b]) => b).join(', ')}`, `${sudo}apt-get update && ${sudo}apt-get install -y --no-install-recommends ${pkgs}`]);
}
const services = await Promise.all(
  [
    ['Redis', 6379],
    ['Postgres', 5432],
    ['MariaDB', 3306],
  ].map(async ([name, port]) => ((await listening(port)) ? null : `${name} on 127.0.0.1:${port}`)),
);
const down = services.filter(Boolean);
if (down.length)
  problems.push([
    `not answering: ${down.join(', ')}`,
    `${sudo}bash scripts/start-services.sh   (or: docker compose -f docker/compose.yaml up -d redis postgres mysql)`,
  ]);

if (problems.length) {
  console.error('npm test cannot run on this machine yet:');
  for (const [what, fix] of problems) console.error(`  - ${what}\n      run: ${fix}`);
  console.error('or run everything CI runs, which installs and starts all of it: bash .ci/run');
  process.exit(1);
}
