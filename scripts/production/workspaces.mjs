/** The workspaces of the repository and their manifests as published (shared by assemble and pack). */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** every `packages/*` and `apps/*` folder with a package.json (what the root `workspaces` names) */
export function workspaces(root) {
  const globs = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).workspaces;
  return globs.flatMap((g) => {
    const base = g.replace(/\/\*$/, '');
    return readdirSync(path.join(root, base))
      .filter((d) => existsSync(path.join(root, base, d, 'package.json')))
      .map((d) => {
        const rel = `${base}/${d}`;
        const dir = path.join(root, rel);
        return { rel, dir, manifest: JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) };
      });
  });
}

/**
 * The manifest a consumer sees: `publishConfig` fields (exports, types, bin pointing at dist/) over
 * the development ones (which point at src/ so tests and tsx run the TypeScript), without `private`.
 */
export function publishedManifest(manifest, { keepPrivate = false } = {}) {
  const { publishConfig = {}, scripts: _scripts, ...rest } = manifest;
  const { access: _access, registry: _registry, tag: _tag, ...fields } = publishConfig;
  const out = { ...rest, ...fields };
  if (!keepPrivate) delete out.private;
  return out;
}
