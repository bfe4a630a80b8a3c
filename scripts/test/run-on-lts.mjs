#!/usr/bin/env node
/**
 * Every test again on the current Node LTS (24), the Node of the image (`node:24-bookworm-slim`);
 * `npm run test:jest` runs them on the Node that runs npm (20 in CI). Worker processes the tests
 * spawn run on this same Node. Arguments go to jest, e.g. one file:
 *
 *   npm run test:lts -- test/e2e/pipeline-basics.test.ts
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ltsNode } from './lts-node.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const node = ltsNode();
const args = process.argv.slice(2);
console.log(`jest on ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}: ${args.length ? args.join(' ') : 'every test'}`);
const r = spawnSync(node, [path.join(ROOT, 'node_modules/jest/bin/jest.js'), '--runInBand', '--forceExit', ...args], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules' },
});
process.exit(r.status ?? 1);
