#!/usr/bin/env node
/**
 * Compile one workspace (the current directory) to `dist/`:
 * - JS: every `src/**\/*.ts`, file by file with SWC (the transform jest uses; isolatedModules holds),
 *   so the layout stays and `new URL('./x', import.meta.url)` assets keep working;
 * - `.d.ts`: tsc --emitDeclarationOnly (skipped with `--no-types`, for a runtime-only file set);
 * - the non-TypeScript files of src/ (Lua scripts, .mjs workers) copied beside them;
 * - relative specifiers get the `.js` / `/index.js` that plain Node ESM needs (the source writes them
 *   extensionless, as bundler resolution allows), and a `tsx` shebang becomes plain `node`.
 * New files need no configuration: everything under src/ is built.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const swc = require('@swc/core');
const dir = process.cwd();
const src = path.join(dir, 'src');
const dist = path.join(dir, 'dist');
const types = !process.argv.includes('--no-types');

rmSync(dist, { recursive: true, force: true });
const sources = [...walk(src)];
for (const f of sources) {
  const rel = path.relative(src, f);
  if (/\.d\.ts$/.test(f) || rel.endsWith('.md')) continue;
  if (!f.endsWith('.ts')) {
    copy(f, path.join(dist, rel));
    continue;
  }
  const { code } = swc.transformFileSync(f, {
    jsc: { parser: { syntax: 'typescript' }, target: 'es2022', keepClassNames: true },
    module: { type: 'es6' },
    sourceMaps: false,
    swcrc: false,
  });
  const out = path.join(dist, rel.replace(/\.ts$/, '.js'));
  write(out, fixSpecifiers(code, path.dirname(f), false));
}
if (types) {
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--emitDeclarationOnly'], { stdio: 'inherit' });
  for (const f of walk(dist)) {
    if (!f.endsWith('.d.ts')) continue;
    const srcDir = path.join(src, path.relative(dist, path.dirname(f)));
    const text = readFileSync(f, 'utf8');
    const fixed = fixSpecifiers(text, srcDir, true);
    if (fixed !== text) writeFileSync(f, fixed);
  }
}

function fixSpecifiers(code, srcDir, isDts) {
  const SPECIFIER = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+|\brequire\s*\(\s*)(['"])(\.{1,2}\/[^'"]*?)\2/g;
  return code
    .replace(/^#!.*\n/, (line) => (line.includes('tsx') ? '#!/usr/bin/env node\n' : line))
    .replace(SPECIFIER, (_m, lead, q, spec) => `${lead}${q}${withExtension(srcDir, spec, isDts)}${q}`);
}

/** `./a` -> `./a.js` or `./a/index.js`, by what src/ has; a specifier with an extension stays. */
function withExtension(from, spec, isDts) {
  if (/\.(m?js|cjs|json|node)$/.test(spec)) return spec;
  const abs = path.resolve(from, spec);
  if (existsSync(`${abs}.ts`)) return `${spec}.js`;
  if (existsSync(path.join(abs, 'index.ts'))) return `${spec.replace(/\/$/, '')}/index.js`;
  if (isDts) return spec;
  throw new Error(`${path.relative(dir, from)}: cannot resolve ${spec} (no ${spec}.ts nor ${spec}/index.ts)`);
}

function write(f, text) {
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, text);
}
function copy(from, to) {
  mkdirSync(path.dirname(to), { recursive: true });
  cpSync(from, to);
}
function* walk(d) {
  if (!existsSync(d)) return;
  for (const e of readdirSync(d)) {
    const p = path.join(d, e);
    if (statSync(p).isDirectory()) yield* walk(p);
    else yield p;
  }
}
