#!/usr/bin/env node
/**
 * The suite's representative subset on the current Node LTS (24; the full suite runs on the Node
 * that runs npm, 20 in CI): the core DSL and planner, the deploy checks, and a pipeline end to end
 * with real worker processes (spawned with this same Node). The production tests already start
 * compiled workers on Node 24 beside Node 20.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ltsNode } from './lts-node.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SUBSET = ['packages/core/test', 'packages/client/test', 'test/deploy', 'test/e2e/pipeline-basics.test.ts'];
const node = ltsNode();
console.log(`jest on ${spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim()}: ${SUBSET.join(' ')}`);
const r = spawnSync(node, [path.join(ROOT, 'node_modules/jest/bin/jest.js'), '--runInBand', '--forceExit', ...SUBSET], {
  cwd: ROOT,
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: '--experimental-vm-modules' },
});
process.exit(r.status ?? 1);
