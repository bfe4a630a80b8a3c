#!/usr/bin/env node
/**
 * Assemble the production file set, as the Docker image holds it, into OUT_DIR:
 *   compiled JS of every workspace (dist/, no sources, no tests), their manifests with the published
 *   `exports`/`bin` (pointing at dist/), the lockfile, the example pipelines, and production
 *   dependencies only (`npm ci --omit=dev`).
 *
 *   node scripts/production/assemble.mjs OUT_DIR [--no-install]
 *
 * The Dockerfile's build stage runs exactly this; test/e2e/production-file-set.test.ts starts a worker
 * from the result with plain `node` to prove the set is complete.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { publishedManifest, workspaces } from './workspaces.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const out = path.resolve(process.argv[2] ?? '');
if (!process.argv[2]) {
  console.error('usage: node scripts/production/assemble.mjs OUT_DIR [--no-install]');
  process.exit(2);
}
const install = !process.argv.includes('--no-install');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const root = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
const { devDependencies: _dev, scripts: _scripts, ...prodRoot } = root;
writeFileSync(path.join(out, 'package.json'), `${JSON.stringify(prodRoot, null, 2)}\n`);
cpSync(path.join(ROOT, 'package-lock.json'), path.join(out, 'package-lock.json'));

for (const ws of workspaces(ROOT)) {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build/build-package.mjs'), '--no-types'], { cwd: ws.dir, stdio: 'inherit' });
  const target = path.join(out, ws.rel);
  mkdirSync(target, { recursive: true });
  // the manifest as published: exports and bin point at dist/ (devDependencies stay for the lockfile; --omit=dev skips them)
  writeFileSync(path.join(target, 'package.json'), `${JSON.stringify(publishedManifest(ws.manifest, { keepPrivate: true }), null, 2)}\n`);
  cpSync(path.join(ws.dir, 'dist'), path.join(target, 'dist'), { recursive: true });
}
if (existsSync(path.join(ROOT, 'pipelines'))) cpSync(path.join(ROOT, 'pipelines'), path.join(out, 'pipelines'), { recursive: true });

if (install) {
  // never --omit=optional: pdfjs needs @napi-rs/canvas, sharp its platform binary
  execFileSync('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], {
    cwd: out,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
}
console.log(`production file set in ${out}: ${readdirSync(out).join(', ')}`);
