import { pushHeading, type Block, type HeadingPath, type ParsedDocument } from './block';

const ATX = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const SETEXT = /^ {0,3}(=+|-+)[ \t]*$/;
const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const THEMATIC = /^ {0,3}([-*_])([ \t]*\1){2,}[ \t]*$/;

/**
 * Markdown, line by line (CommonMark's block structure, enough for headings): ATX and setext
 * headings, fenced code (no headings inside), paragraphs as runs of non-blank lines, YAML front
 * matter skipped (its `title:` is the document title). Inline markup is kept as written.
 */
export function parseMarkdown(source: string): ParsedDocument {
  const lines = source.split(/\r\n|\r|\n/);
  const blocks: Block[] = [];
  let path: HeadingPath = {};
  let title: string | null = null;
  let para: { start: number; lines: string[] } | undefined;
  const flush = () => {
    if (!para) return;
    const text = para.lines.join('\n').trim();
    if (text) blocks.push({ text, headings: path, sourceline: para.start + 1, page: null });
    para = undefined;
  };
  const heading = (level: number, text: string, line: number) => {
    path = pushHeading(path, level, headingName(text));
    blocks.push({ text, heading: level, headings: path, sourceline: line + 1, page: null });
  };

  let i = 0;
  if (lines[0]?.trim() === '---') {
    const end = lines.findIndex((l, k) => k > 0 && /^(---|\.\.\.)\s*$/.test(l));
    if (end > 0) {
      const t = lines.slice(1, end).find((l) => /^title:\s*/.test(l));
      if (t)
        title =
          t
            .replace(/^title:\s*/, '')
            .replace(/^(['"])(.*)\1$/, '$2')
            .trim() || null;
      i = end + 1;
    }
  }
  for (; i < lines.length; i++) {
    const line = lines[i]!;
    const fence = FENCE.exec(line);
    if (fence) {
      flush();
      const marker = fence[1]!;
      const start = i;
      let end = i + 1;
      while (end < lines.length && !lines[end]!.trimStart().startsWith(marker)) end++;
      const text = lines.slice(start, Math.min(end + 1, lines.length)).join('\n');
      blocks.push({ text, headings: path, sourceline: start + 1, page: null });
      i = end;
      continue;
    }
    const atx = ATX.exec(line);
    if (atx) {
      flush();
      heading(atx[1]!.length, (atx[2] ?? '').trim(), i);
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    const setext = SETEXT.exec(line);
    if (setext && para && para.lines.length > 0) {
      const text = para.lines.join(' ').trim();
      const start = para.start;
      para = undefined;
      heading(setext[1]!.startsWith('=') ? 1 : 2, text, start);
      continue;
    }
    if (THEMATIC.test(line)) {
      flush();
      continue;
    }
    if (!para) para = { start: i, lines: [] };
    para.lines.push(line);
  }
  flush();
  const h1 = blocks.find((b) => b.heading === 1);
  title ??= h1 ? headingName(h1.text) : null;
  return { format: 'markdown', title, blocks };
}

/**
 * A heading as a name for the heading path and the title: inline HTML (a logo `<img>`, `<a>`
 * anchors, as READMEs have) is dropped, as a browser would show the text; the chunk keeps the source.
 */
function headingName(text: string): string {
  const name = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return name || text;
}
