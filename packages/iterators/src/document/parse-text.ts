import type { Block, ParsedDocument } from './block';

/** Plain text: paragraphs are runs of non-blank lines. */
export function parseText(source: string): ParsedDocument {
  const blocks: Block[] = [];
  const lines = source.split(/\r\n|\r|\n/);
  let start = -1;
  const flush = (end: number) => {
    if (start < 0) return;
    const text = lines.slice(start, end).join('\n').trim();
    if (text) blocks.push({ text, headings: {}, sourceline: start + 1, page: null });
    start = -1;
  };
  lines.forEach((line, i) => {
    if (line.trim() === '') flush(i);
    else if (start < 0) start = i;
  });
  flush(lines.length);
  return { format: 'text', title: null, blocks };
}
