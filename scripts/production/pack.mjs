#!/usr/bin/env node
/**
 * Build (JS + .d.ts) and `npm pack` workspaces as they would be published: the manifest with its
 * publishConfig applied (exports/types/bin at dist/, not private), dist/ and README.
 *
 *   node scripts/production/pack.mjs OUT_DIR [@tessera/core @tessera/client ...]   (default: all)
 *
 * Prints one tarball path per line. To publish: `npm publish OUT_DIR/<tarball>`.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { publishedManifest, workspaces } from './workspaces.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const [outArg, ...names] = process.argv.slice(2);
if (!outArg) {
  console.error('usage: node scripts/production/pack.mjs OUT_DIR [package ...]');
  process.exit(2);
}
const out = path.resolve(outArg);
const all = workspaces(ROOT);
const byName = new Map(all.map((w) => [w.manifest.name, w]));
const wanted = names.length ? names : all.map((w) => w.manifest.name);

// a package's .d.ts read its dependencies' .d.ts, so dependencies build first
const order = [];
const visit = (name) => {
  const w = byName.get(name);
  if (!w) throw new Error(`no workspace named ${name}`);
  if (order.includes(w)) return;
  for (const dep of Object.keys(w.manifest.dependencies ?? {})) if (byName.has(dep)) visit(dep);
  order.push(w);
};
wanted.forEach(visit);

mkdirSync(out, { recursive: true });
for (const w of order) {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build/build-package.mjs')], { cwd: w.dir, stdio: 'inherit' });
  if (!wanted.includes(w.manifest.name)) continue;
  const stage = path.join(out, 'stage', w.rel);
  rmSync(stage, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  writeFileSync(path.join(stage, 'package.json'), `${JSON.stringify(publishedManifest(w.manifest), null, 2)}\n`);
  cpSync(path.join(w.dir, 'dist'), path.join(stage, 'dist'), { recursive: true });
  if (existsSync(path.join(w.dir, 'README.md'))) cpSync(path.join(w.dir, 'README.md'), path.join(stage, 'README.md'));
  const file = execFileSync('npm', ['pack', '--silent', '--pack-destination', out], { cwd: stage, encoding: 'utf8' }).trim().split('\n').pop();
  console.log(path.join(out, file));
}
