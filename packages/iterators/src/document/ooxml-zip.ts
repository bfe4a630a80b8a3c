import { unzipSync } from 'fflate';

/** The parts of an OOXML package (a ZIP) that a parser asked for, decoded as UTF-8 text. */
export class OoxmlPackage {
  private constructor(private readonly parts: Map<string, string>) {}

  /**
   * Unzip only the XML parts that `want` accepts (images and embedded media are skipped without
   * being inflated). `checkSize` sees the running total of the parts' sizes before any is inflated
   * (a few MB of ZIP can unzip to gigabytes); fflate allocates each part at its declared size and
   * never past it, so a header that lies cannot make it grow either. Throws fflate's error on a
   * damaged archive.
   */
  static open(bytes: Uint8Array, want: (path: string) => boolean, checkSize: (unzippedBytes: number) => void = () => {}): OoxmlPackage {
    let unzipped = 0;
    const files = unzipSync(bytes, {
      filter: (f) => {
        if (!want(f.name)) return false;
        unzipped += f.originalSize;
        checkSize(unzipped);
        return true;
      },
    });
    const decoder = new TextDecoder('utf-8');
    return new OoxmlPackage(new Map(Object.entries(files).map(([k, v]) => [k, decoder.decode(v)])));
  }

  get(path: string): string | undefined {
    return this.parts.get(path);
  }

  paths(): string[] {
    return [...this.parts.keys()];
  }
}

/** Which OOXML document a package is, from its well-known main part (the package's list of names). */
export function ooxmlKind(names: readonly string[]): 'docx' | 'pptx' | 'xlsx' | undefined {
  if (names.includes('word/document.xml')) return 'docx';
  if (names.includes('ppt/presentation.xml')) return 'pptx';
  if (names.includes('xl/workbook.xml')) return 'xlsx';
  return undefined;
}

/** Relationship targets of a part (`_rels/*.rels`): id -> target path resolved against `baseDir`. */
export function relationships(xml: string | undefined, baseDir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!xml) return out;
  for (const m of xml.matchAll(/<Relationship\b([^>]*)\/?>/g)) {
    const id = /\bId="([^"]*)"/.exec(m[1]!)?.[1];
    const target = /\bTarget="([^"]*)"/.exec(m[1]!)?.[1];
    if (id && target) out.set(id, target.startsWith('/') ? target.slice(1) : normalize(`${baseDir}/${target}`));
  }
  return out;
}

function normalize(path: string): string {
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '..') out.pop();
    else if (seg && seg !== '.') out.push(seg);
  }
  return out.join('/');
}

/** dc:title of docProps/core.xml, if set. */
export function coreTitle(pkg: OoxmlPackage): string | null {
  const m = /<dc:title>([\s\S]*?)<\/dc:title>/.exec(pkg.get('docProps/core.xml') ?? '');
  const t = m ? decodeXml(m[1]!).trim() : '';
  return t || null;
}

export function decodeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-fA-F]+));/g, (_, name: string, dec?: string, hex?: string) => {
    if (dec) return String.fromCodePoint(Number(dec));
    if (hex) return String.fromCodePoint(parseInt(hex, 16));
    return ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" } as Record<string, string>)[name]!;
  });
}
