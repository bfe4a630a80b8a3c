import { unionBox, type Block, type HeadingPath, type PageBox } from './block';
import type { SplitSpec } from './params';
import { sentencesOf } from './sentences';
import type { Tiktoken } from './tokens';
import { charWindows, tokenWindows } from './windows';

export interface Chunk {
  text: string;
  headings: HeadingPath;
  sourceline: number | null;
  page: number | null;
  /** PDF: one box per page the chunk's section touches (a window cut from it carries its section's boxes) */
  boxes?: PageBox[];
}

function boxesOf(blocks: Block[]): PageBox[] | undefined {
  const out: PageBox[] = [];
  for (const b of blocks) {
    if (!b.box || b.page === null) continue;
    const last = out[out.length - 1];
    if (last && last.page === b.page) last.box = unionBox(last.box, b.box);
    else out.push({ page: b.page, box: [...b.box] });
  }
  return out.length ? out : undefined;
}

/**
 * Does `next` start a new section after `prev`? A heading never ends a section (it belongs with
 * what follows it); otherwise a heading starts one with `heading`, a page change with `page`, and
 * every block with `paragraph`.
 */
function startsSection(prev: Block, next: Block, spec: SplitSpec): boolean {
  if (prev.heading) return false;
  return spec.paragraph || (spec.heading && next.heading !== undefined) || (spec.page && next.page !== prev.page);
}

function sectionChunk(section: Block[]): Chunk {
  const first = section[0]!;
  // the heading path is the one in force for the section's content: the last of its leading headings
  let pathFrom = first;
  for (const b of section) {
    pathFrom = b;
    if (!b.heading) break;
  }
  const boxes = boxesOf(section);
  return {
    text: section
      .map((b) => b.text)
      .filter((t) => t !== '')
      .join('\n\n'),
    headings: pathFrom.headings,
    sourceline: first.sourceline,
    page: first.page,
    ...(boxes ? { boxes } : {}),
  };
}

/**
 * Turn a stream of blocks into chunks: structural separators group blocks into sections (no
 * structural separator: the whole document is one section), `sentence` splits each block into
 * sentences, and a limit separator cuts anything longer than `limit` into overlapping windows.
 * Sections are emitted as soon as they close, so a long PDF streams page by page.
 */
export async function* chunkBlocks(blocks: AsyncIterable<Block> | Iterable<Block>, spec: SplitSpec, encoder?: Tiktoken): AsyncGenerator<Chunk> {
  const limited = function* (chunk: Chunk): Generator<Chunk> {
    const lim = spec.limit;
    // an empty chunk is an empty page kept for its image (elements 'image'): it passes as it is
    if (!lim || chunk.text === '') return yield chunk;
    const pieces = lim.unit === 'char' ? charWindows(chunk.text, lim.size, lim.overlap) : tokenWindows(chunk.text, encoder!, lim.size, lim.overlap);
    for (const text of pieces) if (text.trim()) yield { ...chunk, text };
  };

  if (spec.sentence) {
    for await (const b of blocks) {
      const boxes = boxesOf([b]);
      const base = { headings: b.headings, sourceline: b.sourceline, page: b.page, ...(boxes ? { boxes } : {}) };
      if (b.text === '') yield* limited({ text: '', ...base });
      for (const text of sentencesOf(b.text)) yield* limited({ text, ...base });
    }
    return;
  }
  let section: Block[] = [];
  for await (const b of blocks) {
    const prev = section.at(-1);
    if (prev && startsSection(prev, b, spec)) {
      yield* limited(sectionChunk(section));
      section = [];
    }
    section.push(b);
  }
  if (section.length) yield* limited(sectionChunk(section));
}
