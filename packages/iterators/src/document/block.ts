/** The h1..h6 path in effect at a point of a document, e.g. { h1: 'Guide', h2: 'Install' }. */
export type HeadingPath = Partial<Record<'h1' | 'h2' | 'h3' | 'h4' | 'h5' | 'h6', string>>;

/**
 * A paragraph-level unit of a parsed document: a heading, a paragraph, a list, a code block, or
 * (PDF) a paragraph of one page. Every format parses into a stream of these; the chunker only
 * sees blocks, never the format.
 */
export interface Block {
  text: string;
  /** heading level 1..6 when this block is a heading */
  heading?: number;
  /** the heading path in effect at this block (a heading block's path includes itself) */
  headings: HeadingPath;
  /** 1-based line in the source file where the block starts (HTML, Markdown, text) */
  sourceline: number | null;
  /** 1-based page (PDF), slide (PPTX) or worksheet (XLSX) */
  page: number | null;
  /** PDF: where the block's text is on its page, [left, top, right, bottom] in points from the top-left */
  box?: Box;
}

export type Box = [number, number, number, number];

/** Where a chunk's text is: one box per page it touches (PDF points from the page's top-left corner). */
export interface PageBox {
  page: number;
  box: Box;
}

export function unionBox(a: Box | undefined, b: Box): Box {
  return a ? [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])] : [...b];
}

export interface ParsedDocument {
  format: 'pdf' | 'html' | 'markdown' | 'text' | 'docx' | 'pptx' | 'xlsx';
  title: string | null;
  blocks: AsyncIterable<Block> | Iterable<Block>;
  /** PDF: render a page as PNG (for elements 'image') */
  renderPage?: (page: number, scale: number) => Promise<Buffer>;
}

/** Set heading level `level` to `text` and forget deeper levels. */
export function pushHeading(path: HeadingPath, level: number, text: string): HeadingPath {
  const next: HeadingPath = {};
  for (let l = 1; l < level; l++) {
    const k = `h${l}` as keyof HeadingPath;
    if (path[k] !== undefined) next[k] = path[k];
  }
  next[`h${level}` as keyof HeadingPath] = text;
  return next;
}

/** Offsets of line starts, for turning a character offset into a 1-based line number. */
export function lineLocator(source: string): (offset: number) => number {
  const starts = [0];
  for (let i = source.indexOf('\n'); i >= 0; i = source.indexOf('\n', i + 1)) starts.push(i + 1);
  return (offset) => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  };
}
