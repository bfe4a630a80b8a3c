import { Parser } from 'htmlparser2';
import type { Block, ParsedDocument } from './block';
import { coreTitle, relationships, type OoxmlPackage } from './ooxml-zip';

/** Slide part paths in presentation order (ppt/presentation.xml's slide list through its relationships). */
export function slidePaths(pkg: OoxmlPackage): string[] {
  const rels = relationships(pkg.get('ppt/_rels/presentation.xml.rels'), 'ppt');
  const ids = [...(pkg.get('ppt/presentation.xml') ?? '').matchAll(/<p:sldId\b[^>]*\br:id="([^"]*)"/g)].map((m) => m[1]!);
  const ordered = ids.map((id) => rels.get(id)).filter((p): p is string => !!p && pkg.get(p) !== undefined);
  if (ordered.length) return ordered;
  // no slide list: fall back to the slide parts by number
  const num = (p: string) => Number(/slide(\d+)\.xml$/.exec(p)?.[1] ?? 0);
  return pkg
    .paths()
    .filter((p) => /^ppt\/slides\/slide\d+\.xml$/.test(p))
    .sort((a, b) => num(a) - num(b));
}

/** One slide's paragraphs, and which of them belong to its title placeholder. */
function slideParagraphs(xml: string): Array<{ text: string; title: boolean }> {
  const out: Array<{ text: string; title: boolean }> = [];
  let shapeDepth = 0;
  let titleShape = false;
  let para: string | undefined;
  let inText = false;
  const p = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'p:sp') {
          if (shapeDepth++ === 0) titleShape = false;
        } else if (name === 'p:ph' && (attrs.type === 'title' || attrs.type === 'ctrTitle')) titleShape = true;
        else if (name === 'a:p') para = '';
        else if (name === 'a:t') inText = true;
        else if (name === 'a:br' && para !== undefined) para += '\n';
      },
      ontext(text) {
        if (inText && para !== undefined) para += text;
      },
      onclosetag(name) {
        if (name === 'a:t') inText = false;
        else if (name === 'a:p') {
          const text = (para ?? '').trim();
          if (text) out.push({ text, title: titleShape && shapeDepth > 0 });
          para = undefined;
        } else if (name === 'p:sp') shapeDepth--;
      },
    },
    { xmlMode: true },
  );
  p.end(xml);
  return out;
}

/**
 * A PowerPoint deck: one page per slide (metadata `page` is the slide number, in presentation
 * order); the slide's title placeholder is a level-1 heading, every other text paragraph (text
 * boxes, bullets, table cells) a block under it. Speaker notes are not included.
 */
export function parsePptx(pkg: OoxmlPackage): ParsedDocument {
  const blocks: Block[] = [];
  let firstTitle: string | null = null;
  slidePaths(pkg).forEach((path, i) => {
    const page = i + 1;
    const paras = slideParagraphs(pkg.get(path)!);
    const title = paras
      .filter((p) => p.title)
      .map((p) => p.text)
      .join(' ');
    const headings = title ? { h1: title.replace(/\s+/g, ' ') } : {};
    if (title) {
      firstTitle ??= headings.h1!;
      blocks.push({ text: title, heading: 1, headings, sourceline: null, page });
    }
    for (const p of paras) if (!p.title) blocks.push({ text: p.text, headings, sourceline: null, page });
  });
  return { format: 'pptx', title: coreTitle(pkg) ?? firstTitle, blocks };
}
