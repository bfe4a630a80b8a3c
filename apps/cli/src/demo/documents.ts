import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { copyInto } from './files';

export type DocRow = {
  id: string;
  doc: string;
  package: string;
  version: string | null;
};

export interface DocumentLimits {
  markdown: number;
  html: number;
  pdf: number;
}

/**
 * The documents of the main job, all real and found offline: the README of every npm package this
 * project installed (Markdown), Debian's HTML and PDF manuals under /usr/share/doc, and the two
 * documents shipped in pipelines/package-docs/data (a PDF and an HTML page, so a machine without
 * Debian's manuals still has both formats). Each is copied into `<dataDir>/documents/`.
 */
export async function gatherDocuments(root: string, dataDir: string, limits: DocumentLimits): Promise<DocRow[]> {
  const out = path.join(dataDir, 'documents');
  const rows: DocRow[] = [];
  const shipped = path.join(root, 'pipelines/package-docs/data');
  for (const f of (await readdir(shipped)).sort()) {
    rows.push({ id: `tessera:${f}`, doc: await copyInto(path.join(shipped, f), path.join(out, 'tessera', f)), package: 'tessera', version: null });
  }
  for (const d of await debianDocs(limits)) {
    rows.push({ ...d, doc: await copyInto(d.doc, path.join(out, 'debian', d.id.slice('debian:'.length))) });
  }
  for (const d of await npmReadmes(root, limits.markdown)) {
    rows.push({ ...d, doc: await copyInto(d.doc, path.join(out, 'npm', d.id, 'README.md')) });
  }
  return rows;
}

async function npmReadmes(root: string, limit: number): Promise<DocRow[]> {
  const base = path.join(root, 'node_modules');
  const names: string[] = [];
  for (const e of await readdir(base).catch(() => [] as string[])) {
    if (e.startsWith('.')) continue;
    if (e.startsWith('@')) for (const s of await readdir(path.join(base, e)).catch(() => [])) names.push(`${e}/${s}`);
    else names.push(e);
  }
  const docs: DocRow[] = [];
  for (const name of names.sort()) {
    if (docs.length >= limit) break;
    const dir = path.join(base, name);
    const readme = (await readdir(dir).catch(() => [] as string[])).find((f) => /^readme\.md$/i.test(f));
    if (!readme) continue;
    const file = path.join(dir, readme);
    if ((await stat(file)).size < 200) continue;
    const pkg = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8').catch(() => '{}')) as { version?: string };
    docs.push({ id: name, doc: file, package: name, version: pkg.version ?? null });
  }
  return docs;
}

const DEBIAN_DOCS = '/usr/share/doc';

/** HTML pages (at most 2 per package) and PDFs from Debian's documentation, in path order, with the package's version. */
async function debianDocs(limits: DocumentLimits): Promise<DocRow[]> {
  const html: string[] = [];
  const pdf: string[] = [];
  const perPackage = new Map<string, number>();
  const walk = async (dir: string, depth: number): Promise<void> => {
    for (const e of (await readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) => a.name.localeCompare(b.name))) {
      const file = path.join(dir, e.name);
      if (e.isDirectory() && depth < 3) await walk(file, depth + 1);
      if (!e.isFile()) continue;
      const pkg = path.relative(DEBIAN_DOCS, file).split(path.sep)[0]!;
      const size = (await stat(file)).size;
      if (/\.html?$/i.test(e.name) && size >= 2048 && size <= 300_000 && (perPackage.get(pkg) ?? 0) < 2) {
        html.push(file);
        perPackage.set(pkg, (perPackage.get(pkg) ?? 0) + 1);
      } else if (/\.pdf$/i.test(e.name) && size <= 3_000_000) pdf.push(file);
    }
  };
  await walk(DEBIAN_DOCS, 0);
  const files = [...html.slice(0, limits.html), ...pdf.slice(0, limits.pdf)];
  const packages = [...new Set(files.map((f) => path.relative(DEBIAN_DOCS, f).split(path.sep)[0]!))];
  const versions = await debianVersions(packages);
  return files.map((f) => {
    const rel = path.relative(DEBIAN_DOCS, f);
    const pkg = rel.split(path.sep)[0]!;
    return { id: `debian:${rel}`, doc: f, package: pkg, version: versions.get(pkg) ?? null };
  });
}

async function debianVersions(packages: string[]): Promise<Map<string, string>> {
  if (!packages.length) return new Map();
  // dpkg-query exits non-zero when one name is not a package (a doc folder named otherwise): keep what it printed
  const r = await promisify(execFile)('dpkg-query', ['-W', '-f=${Package} ${Version}\\n', ...packages]).catch((e: { stdout?: string }) => ({
    stdout: e.stdout ?? '',
  }));
  return new Map(
    r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' ') as [string, string]),
  );
}
