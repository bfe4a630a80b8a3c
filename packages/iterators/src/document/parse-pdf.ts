import { TransientError } from '@tessera/core';
import { inputError } from '../common/input';
import { unionBox, type Block, type Box, type ParsedDocument } from './block';
import { openPdf, type OpenPdf, type PdfTextItem } from './pdf-client';
import { checkPdfPages } from '../common/limits';

type TextItem = PdfTextItem;

/** Pages requested ahead of the one being chunked (their text items only: a few KB each). */
const PAGES_AHEAD = 4;

/** A gap between lines wider than this many line heights starts a new paragraph. */
const PARAGRAPH_GAP = 1.6;

/** Group a page's text items into lines, then lines into paragraphs by vertical gaps. */
export function pageParagraphs(items: TextItem[]): Array<{ text: string; box: Box | undefined }> {
  type Line = { text: string; y: number; h: number; xEnd: number; box: Box | undefined };
  const lines: Line[] = [];
  let cur: Line | undefined;
  let broke = true;
  for (const it of items) {
    const x = it.transform[4] ?? 0;
    const y = it.transform[5] ?? 0;
    const h = it.height || Math.abs(it.transform[3] ?? 0) || 10;
    // whitespace-only items (pdfjs's spaces and line ends) add no box
    const box = it.box && it.str.trim() ? it.box : undefined;
    if (!cur || broke || Math.abs(y - cur.y) > h / 2) {
      cur = { text: it.str, y, h, xEnd: x + it.width, box };
      lines.push(cur);
    } else {
      if (box) cur.box = unionBox(cur.box, box);
      // separately drawn words on one line: a visible gap is a space
      const gap = x - cur.xEnd > h * 0.15 && !/\s$/.test(cur.text) && !/^\s/.test(it.str);
      cur.text += (gap ? ' ' : '') + it.str;
      cur.h = Math.max(cur.h, h);
      cur.xEnd = x + it.width;
    }
    broke = it.hasEOL;
  }
  const paragraphs: Array<{ text: string; box: Box | undefined }> = [];
  let para: string[] = [];
  let paraBox: Box | undefined;
  let prev: { y: number; h: number } | undefined;
  for (const line of lines) {
    const text = line.text.replace(/\s+/g, ' ').trim();
    if (!text) continue;
    if (prev && Math.abs(prev.y - line.y) > PARAGRAPH_GAP * Math.max(prev.h, line.h)) {
      paragraphs.push({ text: para.join('\n'), box: paraBox });
      para = [];
      paraBox = undefined;
    }
    para.push(text);
    if (line.box) paraBox = unionBox(paraBox, line.box);
    prev = line;
  }
  if (para.length) paragraphs.push({ text: para.join('\n'), box: paraBox });
  return paragraphs;
}

function pdfError(ref: string, e: unknown): Error {
  const err = e as Error;
  if (err?.name === 'PasswordException') return inputError(ref, 'the PDF is encrypted with a password');
  // another PDF in the same reader may have stopped it: read again, by the job's next attempt
  if (err?.name === 'ReaderShared') return new TransientError(`${ref}: ${err.message}`);
  // the reader's own limits (pdf-client.ts) say what the PDF did
  if (err?.name === 'ReaderStalled' || err?.name === 'ReaderOutOfMemory' || err?.name === 'TooManyItems') return inputError(ref, err.message);
  return inputError(ref, `is not a readable PDF: ${err?.message ?? String(e)}`);
}

/**
 * PDF text with pdfjs-dist, read in a separate thread (pdf-client.ts). Pages are requested one at a
 * time and released after their text is taken, so a 1,000-page PDF never has more than one page's
 * objects alive. Headings are not recovered from PDFs; metadata `page` is 1-based.
 */
export async function parsePdf(bytes: Uint8Array, ref: string, opts: { emptyPages?: boolean } = {}): Promise<ParsedDocument & { dispose(): Promise<void> }> {
  let pdf: OpenPdf;
  try {
    // the reader thread takes its own copy (the array is transferred)
    pdf = await openPdf(new Uint8Array(bytes));
  } catch (e) {
    throw pdfError(ref, e);
  }
  try {
    checkPdfPages(ref, pdf.pages);
  } catch (e) {
    await pdf.close();
    throw e;
  }
  async function* blocks(): AsyncGenerator<Block> {
    // keep a few pages in flight so the reader thread parses page n+1 while this thread chunks page n
    const ahead = new Map<number, Promise<PdfTextItem[]>>();
    const request = (n: number) => {
      if (n <= pdf.pages && !ahead.has(n)) {
        const p = pdf.page(n);
        p.catch(() => undefined); // awaited below; an unawaited prefetch of an abandoned run must not go unhandled
        ahead.set(n, p);
      }
    };
    for (let n = 1; n <= pdf.pages; n++) {
      for (let k = n; k < n + PAGES_AHEAD; k++) request(k);
      let paragraphs: Array<{ text: string; box: Box | undefined }>;
      try {
        paragraphs = pageParagraphs(await ahead.get(n)!);
      } catch (e) {
        throw pdfError(ref, e);
      } finally {
        ahead.delete(n);
      }
      for (const { text, box } of paragraphs) yield { text, headings: {}, sourceline: null, page: n, ...(box ? { box } : {}) };
      // page images: a page without text still gives a row (its image is what a vision model reads)
      if (opts.emptyPages && paragraphs.length === 0) yield { text: '', headings: {}, sourceline: null, page: n };
    }
  }
  return {
    format: 'pdf',
    title: pdf.title,
    blocks: blocks(),
    renderPage: async (page, scale) => {
      try {
        return await pdf.render(page, scale);
      } catch (e) {
        throw inputError(ref, `page ${page} cannot be rendered: ${(e as Error)?.message ?? String(e)}`);
      }
    },
    dispose: () => pdf.close(),
  };
}
