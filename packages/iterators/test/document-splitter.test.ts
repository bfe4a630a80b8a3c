import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { getEncoding } from 'js-tiktoken';
import { CellInputError, TransientError, boundedRuns, t } from '@tessera/core';
import { parsePdf } from '../src/document/parse-pdf';
import { documentSplitterDef, type DocumentSplitterParams } from '../src/index';
import { collect, localContext } from '../../../test/support/local-media';
import { makeDocFixtures, PDF_PAGES, writeDensePdf, writePdf, type DocFixtures } from './support/doc-fixtures';
import { makeOfficeFixtures, type OfficeFixtures } from './support/office-fixtures';
import { tempDir } from '../../../test/support/temp-dir';
import { envForTests, withEnv } from '../../../test/support/with-env';

const dir = tempDir('tessera-docs-');
let d: DocFixtures;
let o: OfficeFixtures;
beforeAll(async () => {
  d = await makeDocFixtures(dir);
  o = await makeOfficeFixtures(dir);
});

type Row = {
  text: string;
  title?: string | null;
  heading?: Record<string, string> | null;
  sourceline?: number | null;
  page?: number | null;
  bbox?: unknown;
  image?: string | null;
};
const split = (file: string, params: DocumentSplitterParams) =>
  collect(documentSplitterDef.run(file, params, localContext(join(dir, 'out')))) as Promise<Row[]>;
const texts = async (file: string, params: DocumentSplitterParams) => (await split(file, params)).map((r) => r.text);
const ALL_META = ['title', 'heading', 'sourceline', 'page'] as const;
/** how many windows of `size` with `overlap` cover n units */
const windowCount = (n: number, size: number, overlap: number) => (n <= size ? 1 : 1 + Math.ceil((n - size) / (size - overlap)));

describe('documentSplitter on HTML', () => {
  test('heading: one chunk per heading section, nav/script/style skipped, h1..h6 path, title, source line', async () => {
    const rows = await split(d.html, { separators: 'heading', metadata: [...ALL_META] });
    expect(rows).toEqual([
      { text: 'Widgets\n\nWidgets are small. They are useful.', title: 'Widget Guide', heading: { h1: 'Widgets' }, sourceline: 6, page: null },
      {
        text: 'Install\n\nRun the installer.\n\nThen restart & relax.',
        title: 'Widget Guide',
        heading: { h1: 'Widgets', h2: 'Install' },
        sourceline: 8,
        page: null,
      },
      { text: 'Linux\n\nUse the package manager.', title: 'Widget Guide', heading: { h1: 'Widgets', h2: 'Install', h3: 'Linux' }, sourceline: 11, page: null },
      { text: 'Usage\n\nCall the widget. It wraps lines.', title: 'Widget Guide', heading: { h1: 'Widgets', h2: 'Usage' }, sourceline: 14, page: null },
    ]);
  });

  test('paragraph: each paragraph, a heading staying with the paragraph after it', async () => {
    const rows = await split(d.html, { separators: ['paragraph'], metadata: ['sourceline'] });
    expect(rows).toEqual([
      { text: 'Widgets\n\nWidgets are small. They are useful.', sourceline: 6 },
      { text: 'Install\n\nRun the installer.', sourceline: 8 },
      { text: 'Then restart & relax.', sourceline: 10 },
      { text: 'Linux\n\nUse the package manager.', sourceline: 11 },
      { text: 'Usage\n\nCall the widget. It wraps lines.', sourceline: 14 },
    ]);
  });

  test('sentence: every sentence of every block', async () => {
    expect(await texts(d.html, { separators: ['sentence'] })).toEqual([
      'Widgets',
      'Widgets are small.',
      'They are useful.',
      'Install',
      'Run the installer.',
      'Then restart & relax.',
      'Linux',
      'Use the package manager.',
      'Usage',
      'Call the widget.',
      'It wraps lines.',
    ]);
  });

  test('heading + char_limit: sections longer than the limit become overlapping windows', async () => {
    const sections = await texts(d.html, { separators: ['heading'] });
    const rows = await split(d.html, { separators: ['heading', 'char_limit'], limit: 20, overlap: 5, metadata: ['heading'] });
    expect(rows).toHaveLength(sections.reduce((n, s) => n + windowCount(s.length, 20, 5), 0));
    const first = rows.filter((r) => r.heading?.h2 === undefined);
    const s0 = sections[0]!; // 44 characters: windows at 0, 15, 30
    expect(first.map((r) => r.text)).toEqual([s0.slice(0, 20), s0.slice(15, 35), s0.slice(30)]);
    expect(first.map((r) => r.text)).toEqual(['Widgets\n\nWidgets are', 's are small. They ar', 'ey are useful.']);
    for (const r of rows) expect(r.text.length).toBeLessThanOrEqual(20);
  });

  test('<br> is a line break, other source whitespace collapses, <pre> keeps its lines', async () => {
    const file = join(dir, 'br.html');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(file, '<html><body><p>Line one<br>line   two\n  continues</p><pre>a  b\n  c</pre></body></html>'),
    );
    expect(await texts(file, { separators: 'paragraph' })).toEqual(['Line one\nline two continues', 'a  b\n  c']);
  });

  test('a file without extension is detected as HTML by its content', async () => {
    expect(await texts(d.htmlNoExt, { separators: 'heading' })).toHaveLength(4);
  });

  test('a page with no text (only nav and script) is a CellInputError naming the file', async () => {
    const err = await split(d.htmlEmpty, { separators: 'paragraph' }).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toBe(`${d.htmlEmpty}: the HTML page has no text`);
  });
});

describe('documentSplitter on Markdown', () => {
  test('inline HTML in a heading (a README logo) is left out of the heading path and title, kept in the text', async () => {
    const file = join(dir, 'logo.md');
    await import('node:fs/promises').then((fs) =>
      fs.writeFile(file, '# <img src="logo.svg" alt="" width="32"> Widget <b>Kit</b>\n\nIntro.\n\n## <a id="x"></a>Install\n\nRun it.\n'),
    );
    const rows = await split(file, { separators: 'heading', metadata: ['title', 'heading'] });
    expect(rows.map((r) => [r.title, r.heading])).toEqual([
      ['Widget Kit', { h1: 'Widget Kit' }],
      ['Widget Kit', { h1: 'Widget Kit', h2: 'Install' }],
    ]);
    expect(rows[0]!.text).toBe('<img src="logo.svg" alt="" width="32"> Widget <b>Kit</b>\n\nIntro.');
  });

  test('heading: ATX and setext headings, fenced code kept whole, front-matter title', async () => {
    const rows = await split(d.markdown, { separators: ['heading'], metadata: [...ALL_META] });
    expect(rows).toEqual([
      { text: 'Widgets\n\nWidgets are small.\nThey are useful.', title: 'Widget Manual', heading: { h1: 'Widgets' }, sourceline: 4, page: null },
      {
        text: 'Install\n\nRun the installer.\n\n```sh\n# not a heading\nmake install\n```',
        title: 'Widget Manual',
        heading: { h1: 'Widgets', h2: 'Install' },
        sourceline: 9,
        page: null,
      },
      { text: 'Usage\n\nCall the widget.', title: 'Widget Manual', heading: { h1: 'Widgets', h2: 'Usage' }, sourceline: 18, page: null },
    ]);
  });

  test('paragraph and sentence', async () => {
    expect(await texts(d.markdown, { separators: 'paragraph' })).toEqual([
      'Widgets\n\nWidgets are small.\nThey are useful.',
      'Install\n\nRun the installer.',
      '```sh\n# not a heading\nmake install\n```',
      'Usage\n\nCall the widget.',
    ]);
    expect(await texts(d.markdown, { separators: 'sentence' })).toEqual([
      'Widgets',
      'Widgets are small.',
      'They are useful.',
      'Install',
      'Run the installer.',
      '```sh # not a heading make install ```',
      'Usage',
      'Call the widget.',
    ]);
  });
});

describe('documentSplitter on plain text', () => {
  test('paragraph: runs of non-blank lines with their first line; no title or heading', async () => {
    const rows = await split(d.text, { separators: 'paragraph', metadata: [...ALL_META] });
    expect(rows).toEqual([
      { text: 'Plain text has no headings.\nIts first paragraph has two lines.', title: null, heading: null, sourceline: 1, page: null },
      { text: 'The second paragraph is one line.', title: null, heading: null, sourceline: 4, page: null },
      { text: 'The third paragraph follows two blank lines.\nIt ends here.', title: null, heading: null, sourceline: 7, page: null },
    ]);
  });

  test('heading on a document without headings: one chunk', async () => {
    expect(await texts(d.text, { separators: 'heading' })).toHaveLength(1);
  });

  test('char_limit alone windows the whole document, code points not UTF-16 units', async () => {
    const whole = (await texts(d.text, { separators: 'heading' }))[0]!;
    const rows = await texts(d.text, { separators: 'char_limit', limit: 50 });
    expect(rows).toHaveLength(windowCount(whole.length, 50, 0));
    expect(rows.join('')).toBe(whole);
  });

  test('token_limit windows by cl100k_base tokens with the given overlap', async () => {
    const enc = getEncoding('cl100k_base');
    const whole = (await texts(d.text, { separators: 'heading' }))[0]!;
    const tokens = enc.encode(whole);
    const rows = await texts(d.text, { separators: ['token_limit'], limit: 10, overlap: 3 });
    expect(rows).toHaveLength(windowCount(tokens.length, 10, 3));
    rows.forEach((text, i) => expect(text).toBe(enc.decode(tokens.slice(i * 7, i * 7 + 10))));
  });

  test('the encoder gives exactly js-tiktoken getEncoding token ids', async () => {
    const { encoderFor } = await import('../src/document/tokens');
    const text = 'Hello, wörld! naïve café 😀 — 東京 <|endoftext|>\n\n  spaces\tand tabs 1234567';
    const ours = await encoderFor('cl100k_base');
    expect(ours.encode(text, [], [])).toEqual(getEncoding('cl100k_base').encode(text, [], []));
  });

  test('tokenEncoding selects another offline encoding', async () => {
    const enc = getEncoding('o200k_base');
    const whole = (await texts(d.text, { separators: 'heading' }))[0]!;
    const rows = await texts(d.text, { separators: ['token_limit'], limit: 8, tokenEncoding: 'o200k_base' });
    expect(rows).toHaveLength(windowCount(enc.encode(whole).length, 8, 0));
  });

  test('a chunk within the limit is kept as written', async () => {
    expect(await texts(d.text, { separators: ['paragraph', 'token_limit'], limit: 100 })).toEqual(await texts(d.text, { separators: 'paragraph' }));
  });

  test('special-token text in a document is plain text', async () => {
    const file = join(dir, 'special.txt');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, 'before <|endoftext|> after'));
    expect(await texts(file, { separators: 'token_limit', limit: 100 })).toEqual(['before <|endoftext|> after']);
  });

  test('a document with very long runs (a Markdown table padded with spaces) is cut by tokens, losing nothing', async () => {
    // one encode of these runs would take the encoder minutes (its merges are quadratic in a run's length)
    const file = join(dir, 'padded.md');
    const row = (cell: string) => `| ${cell}${' '.repeat(20_000)} | ${'-'.repeat(5_000)} |`;
    const text = ['# Table', '', row('first'), row('second'), '', 'After the table.'].join('\n');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, text));
    const whole = (await texts(file, { separators: 'heading' })).join('');
    expect(whole).toContain('-'.repeat(5_000));
    const pieces = await texts(file, { separators: 'token_limit', limit: 300 });
    expect(pieces.length).toBeGreaterThan(1);
    // windows of nothing but spaces are dropped, as any blank chunk is; nothing else is lost
    expect(pieces.join('').replace(/\s+/g, '')).toBe(whole.replace(/\s+/g, ''));
    const enc = getEncoding('cl100k_base');
    for (const p of pieces) expect(boundedRuns(p).reduce((n, x) => n + enc.encode(x, [], []).length, 0)).toBeLessThanOrEqual(300);
  });

  test('token_limit never cuts a character in half (CJK, emoji), loses nothing, keeps pieces within the limit', async () => {
    const file = join(dir, 'cjk.txt');
    const text = '東京都の天気は晴れです。😀🎉 Ünïcödé naïve café — 数据编排层 🚀'.repeat(6);
    await import('node:fs/promises').then((fs) => fs.writeFile(file, text));
    const enc = getEncoding('cl100k_base');
    // with these limits raw token windows would cut characters: prove the fixture exercises that
    const raw = enc.encode(text, [], []);
    expect(Array.from({ length: Math.ceil(raw.length / 5) }, (_, i) => enc.decode(raw.slice(i * 5, i * 5 + 5))).join('')).toContain('\uFFFD');
    const pieces = await texts(file, { separators: 'token_limit', limit: 5 });
    expect(pieces.join('')).toBe(text);
    for (const p of pieces) {
      expect(p).not.toContain('\uFFFD');
      expect(enc.encode(p, [], []).length).toBeLessThanOrEqual(5);
    }
    const overlapping = await texts(file, { separators: 'token_limit', limit: 7, overlap: 2 });
    for (const p of overlapping) expect(p).not.toContain('\uFFFD');
  });

  test('emoji are never cut in half by char_limit', async () => {
    const file = join(dir, 'emoji.txt');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, '😀😀😀😀😀'));
    expect(await texts(file, { separators: 'char_limit', limit: 2 })).toEqual(['😀😀', '😀😀', '😀']);
  });
});

describe('documentSplitter on PDF', () => {
  const para1 = (n: number) => `Page ${n} opens here. It has two sentences\nand wraps onto a second line.`;
  const para2 = (n: number) => `Closing paragraph of page ${n}.`;

  test('page: one chunk per page with page number and the PDF title', async () => {
    const rows = await split(d.pdf, { separators: 'page', metadata: [...ALL_META] });
    expect(rows).toEqual([1, 2, 3].map((n) => ({ text: `${para1(n)}\n\n${para2(n)}`, title: 'Quarterly Report', heading: null, sourceline: null, page: n })));
  });

  test('paragraph: paragraphs found from line spacing', async () => {
    const rows = await split(d.pdf, { separators: 'paragraph', metadata: ['page'] });
    expect(rows).toEqual(
      [1, 2, 3].flatMap((n) => [
        { text: para1(n), page: n },
        { text: para2(n), page: n },
      ]),
    );
  });

  test('sentence: a sentence wrapped across lines is one sentence', async () => {
    const rows = await split(d.pdf, { separators: 'sentence', metadata: ['page'] });
    expect(rows).toHaveLength(9);
    expect(rows.slice(0, 3)).toEqual([
      { text: 'Page 1 opens here.', page: 1 },
      { text: 'It has two sentences and wraps onto a second line.', page: 1 },
      { text: 'Closing paragraph of page 1.', page: 1 },
    ]);
  });

  test('page + token_limit', async () => {
    const enc = getEncoding('cl100k_base');
    const pages = await texts(d.pdf, { separators: 'page' });
    const rows = await split(d.pdf, { separators: ['page', 'token_limit'], limit: 12, overlap: 2, metadata: ['page'] });
    expect(rows).toHaveLength(pages.reduce((n, p) => n + windowCount(enc.encode(p).length, 12, 2), 0));
    expect(rows.map((r) => r.page)).toEqual([...rows.map((r) => r.page)].sort());
  });

  test('several PDFs split at once keep their own pages', async () => {
    const other = join(dir, 'other.pdf');
    const { writePdf } = await import('./support/doc-fixtures');
    await writePdf(other, [[['Only page of the other PDF.']]], { title: 'Other' });
    const [a, b, c] = await Promise.all([
      split(d.pdf, { separators: 'page', metadata: ['title', 'page'] }),
      split(other, { separators: 'page', metadata: ['title', 'page'] }),
      split(d.pdf, { separators: 'paragraph', metadata: ['page'] }),
    ]);
    expect(a.map((r) => [r.title, r.page])).toEqual([
      ['Quarterly Report', 1],
      ['Quarterly Report', 2],
      ['Quarterly Report', 3],
    ]);
    expect(b).toEqual([{ text: 'Only page of the other PDF.', title: 'Other', page: 1 }]);
    expect(c).toHaveLength(6);
  });

  test('stopping early releases the document; the reader keeps serving', async () => {
    for await (const _ of documentSplitterDef.run(d.pdf, { separators: 'page' }, localContext(join(dir, 'out')))) break;
    expect(await texts(d.pdf, { separators: 'page' })).toHaveLength(3);
  });

  test('a PDF its reader cannot answer within TESSERA_PDF_STALL_MS fails alone; PDFs read beside it and after it are read', async () => {
    // a million text operators in 70 KB: about 16 s of pdfjs for its one page on a 2-core machine
    const dense = join(dir, 'dense.pdf');
    await writeDensePdf(dense, 1_000_000);
    await withEnv({ TESSERA_PDF_STALL_MS: '1000' }, async () => {
      const [stalled, beside] = await Promise.all([
        split(dense, { separators: 'page' }).catch((e) => e),
        split(d.pdf, { separators: 'page', metadata: ['page'] }),
      ]);
      expect(stalled).toBeInstanceOf(CellInputError);
      expect(stalled.message).toMatch(/dense\.pdf: the PDF reader gave no answer in 1 s \(TESSERA_PDF_STALL_MS\); the PDF is given up$/);
      expect(beside.map((r) => r.page)).toEqual([1, 2, 3]);
    });
    expect(await texts(d.pdf, { separators: 'page' })).toHaveLength(3);
  });

  test('past TESSERA_PDF_READERS, PDFs share a reader; when a shared reader stalls, its PDFs get a transient error (read again later) rather than be blamed', async () => {
    const dense = join(dir, 'dense-shared.pdf');
    await writeDensePdf(dense, 1_000_000);
    await withEnv({ TESSERA_PDF_STALL_MS: '1000', TESSERA_PDF_READERS: '1' }, async () => {
      const innocent = await parsePdf(await readFile(d.pdf), d.pdf); // open, not yet read
      const hostile = await parsePdf(await readFile(dense), dense);
      const drain = async (doc: typeof hostile): Promise<any> => {
        try {
          for await (const _ of doc.blocks);
          return 'read';
        } catch (e) {
          return e;
        } finally {
          await doc.dispose();
        }
      };
      const stalled = await drain(hostile);
      expect(stalled).toBeInstanceOf(TransientError);
      expect(stalled.message).toMatch(/dense-shared\.pdf: the PDF reader it shared with 1 other PDF\(s\) stopped: the PDF reader gave no answer in 1 s/);
      expect(await drain(innocent)).toBeInstanceOf(TransientError);
    });
    // read again, each alone: the innocent PDF is read
    expect(await texts(d.pdf, { separators: 'page' })).toHaveLength(3);
  });

  test('a page with more text items than TESSERA_MAX_PDF_PAGE_ITEMS fails its PDF, naming the page', async () => {
    const dense = join(dir, 'items.pdf');
    await writeDensePdf(dense, 5_000);
    await withEnv({ TESSERA_MAX_PDF_PAGE_ITEMS: '1000' }, async () => {
      const err = await split(dense, { separators: 'page' }).catch((e) => e);
      expect(err).toBeInstanceOf(CellInputError);
      expect(err.message).toMatch(/items\.pdf: page 1 has 5000 text items, more than 1000 \(TESSERA_MAX_PDF_PAGE_ITEMS\)$/);
    });
  });

  test('a file:// URL reference works like a path', async () => {
    expect(await texts(pathToFileURL(d.pdf).href, { separators: 'page' })).toHaveLength(3);
  });
});

describe('documentSplitter bad input', () => {
  test.each([
    ['truncated PDF', () => d.pdfTruncated, /truncated\.pdf: the PDF is truncated \(no %%EOF at the end\)$/],
    ['corrupt PDF', () => d.pdfCorrupt, /corrupt\.pdf: is not a readable PDF: /],
    ['text named .pdf', () => d.notPdf, /fake\.pdf: is named \.pdf but is not a PDF/],
    ['damaged docx', () => d.docx, /letter\.docx: is a damaged ZIP container/],
    [
      'a ZIP that is no Office document',
      () => o.plainZip,
      /book\.epub: unsupported document format: a ZIP container that is not a Word, PowerPoint or Excel document \(epub, odt, a plain archive, \.\.\.\) \(\.epub\); supported are PDF, DOCX, PPTX, XLSX, HTML, Markdown and plain text/,
    ],
    ['png', () => d.png, /picture\.png: unsupported document format: an image/],
    ['missing file', () => d.missing, /missing\.pdf: cannot be read \(ENOENT\)/],
  ])('%s is a CellInputError naming the file and the cause', async (_n, file, message) => {
    const err = await split(file(), { separators: 'page' }).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(message);
  });
});

test('HTML nested deeper than 1,000 elements is a cell error, read in milliseconds rather than minutes (the parser is quadratic in depth); 900 deep is read', async () => {
  const nested = (depth: number) => `<html><body>${'<div>'.repeat(depth)}deep text${'</div>'.repeat(depth)}</body></html>`;
  const deep = join(dir, 'deep.html');
  await writeFile(deep, nested(200_000));
  const err = await split(deep, { separators: 'paragraph' }).catch((e) => e);
  expect(err).toBeInstanceOf(CellInputError);
  expect(err.message).toMatch(/deep\.html: nests HTML elements more than 1000 deep$/);
  const fine = join(dir, 'nested.html');
  await writeFile(fine, nested(900));
  expect(await texts(fine, { separators: 'paragraph' })).toEqual(['deep text']);
});

describe('documentSplitter bounds what it holds in memory (TESSERA_MAX_DOCUMENT_BYTES)', () => {
  envForTests({ TESSERA_MAX_DOCUMENT_BYTES: '1000000' });

  test('a file over the limit is refused before it is read', async () => {
    const big = join(dir, 'big.txt');
    await writeFile(big, 'words and more words\n'.repeat(60_000)); // 1.26 MB
    const err = await split(big, { separators: 'paragraph' }).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(/big\.txt: is 1260000 bytes, more than 1000000 \(TESSERA_MAX_DOCUMENT_BYTES\)$/);
  });

  test('a small DOCX whose XML unzips past the limit (a ZIP bomb) is refused before it is inflated; one under it is read', async () => {
    const { zipSync, strToU8 } = await import('fflate');
    const docx = (paragraphs: number) =>
      zipSync({
        '[Content_Types].xml': strToU8('<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>'),
        'word/document.xml': strToU8(
          `<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>${'<w:p><w:r><w:t>same words again</w:t></w:r></w:p>'.repeat(paragraphs)}</w:body></w:document>`,
        ),
      });
    const bomb = join(dir, 'bomb.docx');
    await writeFile(bomb, docx(40_000)); // 2 MB of XML in a file of a few KB
    const err = await split(bomb, { separators: 'paragraph' }).catch((e) => e);
    expect(err).toBeInstanceOf(CellInputError);
    expect(err.message).toMatch(/bomb\.docx: unzips to at least \d+ bytes, more than 1000000 \(TESSERA_MAX_DOCUMENT_BYTES\)$/);
    const fine = join(dir, 'fine.docx');
    await writeFile(fine, docx(100));
    expect(await split(fine, { separators: 'paragraph' })).toHaveLength(100);
  });
});

describe('documentSplitter on Office documents (made by docx, pptxgenjs, write-excel-file)', () => {
  test('DOCX: paragraphs as blocks, Heading N styles as the heading path, a table row per block, title from the core properties', async () => {
    const rows = await split(o.docx, { separators: 'paragraph', metadata: ['title', 'heading'] });
    expect(rows.map((r) => [r.text, r.heading])).toEqual([
      ['Birds\n\nRobins sing at dawn.', { h1: 'Birds' }],
      ['Owls\n\nOwls hunt\tat night.\nQuietly.', { h1: 'Birds', h2: 'Owls' }],
      ['Species | Count', { h1: 'Birds', h2: 'Owls' }],
      ['Robin | 12', { h1: 'Birds', h2: 'Owls' }],
      ['Fish\n\nTrout are fast & shy <always>.', { h1: 'Fish' }],
    ]);
    expect(rows.every((r) => r.title === 'Field Guide')).toBe(true);
  });

  test('DOCX by heading with a token limit', async () => {
    const rows = await split(o.docx, { separators: ['heading', 'token_limit'], limit: 5, metadata: ['heading'] });
    expect(rows[0]!.heading).toEqual({ h1: 'Birds' });
    expect(rows.at(-1)!.heading).toEqual({ h1: 'Fish' });
    expect(rows.map((r) => r.text).join(' ')).toContain('Trout');
  });

  test('PPTX: a page per slide in order, the title placeholder as h1', async () => {
    const rows = await split(o.pptx, { separators: 'page', metadata: ['title', 'heading', 'page'] });
    expect(rows.map((r) => [r.page, r.heading, r.text])).toEqual([
      [1, { h1: 'Quarter One' }, 'Quarter One\n\nRevenue grew 10%\n\nNorth up\n\nSouth flat'],
      [2, { h1: 'Quarter Two' }, 'Quarter Two\n\nCosts fell'],
    ]);
    expect(rows[0]!.title).toBe('Results');
  });

  test('XLSX: a page per worksheet, its name as h1, a block per row with cells joined by " | "', async () => {
    const rows = await split(o.xlsx, { separators: 'paragraph', metadata: ['heading', 'page'] });
    expect(rows.map((r) => [r.page, r.heading, r.text])).toEqual([
      [1, { h1: 'Fruit' }, 'Fruit\n\nName | Qty | Organic'],
      [1, { h1: 'Fruit' }, 'apple | 3 | TRUE'],
      [1, { h1: 'Fruit' }, 'pear |  | FALSE'],
      [2, { h1: 'Notes & more' }, 'Notes & more\n\nchecked by Ana'],
    ]);
  });

  test('the format comes from the content: a DOCX named .bin is still read as DOCX', async () => {
    const renamed = join(dir, 'guide.bin');
    await writeFile(renamed, await readFile(o.docx));
    expect((await split(renamed, { separators: 'paragraph' }))[0]!.text).toBe('Birds\n\nRobins sing at dawn.');
  });
});

describe('documentSplitter PDF bounding boxes and page images', () => {
  test("bbox: each paragraph's box in points from the top-left of its page, the union of its lines", async () => {
    const { PDFDocument, StandardFonts } = await import('pdf-lib');
    const file = join(dir, 'boxes.pdf');
    await writePdf(file, [[['Alpha beta', 'Gamma'], ['Delta']], [['Epsilon zeta eta']]]);
    const helv = await (await PDFDocument.create()).embedFont(StandardFonts.Helvetica);
    const w = (s: string) => helv.widthOfTextAtSize(s, 11);
    const rows = await split(file, { separators: 'paragraph', metadata: ['page', 'bbox'] });
    expect(rows.map((r) => [r.text, r.page])).toEqual([
      ['Alpha beta\nGamma', 1],
      ['Delta', 1],
      ['Epsilon zeta eta', 2],
    ]);
    // writePdf: baselines at y = 740, 724.6, then a paragraph gap: 693.8 (PDF y, from the bottom of a 792 pt page)
    const want = [
      [1, 50, 792 - 740 - 11, 50 + Math.max(w('Alpha beta'), w('Gamma')), 792 - 724.6],
      [1, 50, 792 - 693.8 - 11, 50 + w('Delta'), 792 - 693.8],
      [2, 50, 792 - 740 - 11, 50 + w('Epsilon zeta eta'), 792 - 740],
    ];
    rows.forEach((r, i) => {
      const [page, ...box] = want[i]!;
      const got = r.bbox as unknown as Array<{ page: number; box: number[] }>;
      expect(got).toHaveLength(1);
      expect(got[0]!.page).toBe(page);
      got[0]!.box.forEach((v, k) => expect(v).toBeCloseTo(box[k]!, 0));
    });
  });

  test('bbox of a chunk spanning pages: one box per page; null for formats without pages', async () => {
    const rows = await split(d.pdf, { separators: ['char_limit'], limit: 100000, metadata: ['bbox'] });
    expect(rows).toHaveLength(1);
    expect((rows[0]!.bbox as unknown as Array<{ page: number }>).map((b) => b.page)).toEqual([1, 2, 3]);
    expect((await split(d.markdown, { separators: 'heading', metadata: ['bbox'] })).every((r) => r.bbox === null)).toBe(true);
  });

  test("elements ['text', 'image']: each row carries the PNG of its page, rendered once per page at imageDpi", async () => {
    const ctx = localContext(join(dir, 'out'));
    const rows = (await collect(documentSplitterDef.run(d.pdf, { separators: ['page', 'paragraph'], elements: ['text', 'image'] }, ctx))) as unknown as Array<
      Row & { image: string }
    >;
    expect(rows.map((r) => r.text)).toEqual(PDF_PAGES.flat().map((l) => l.join('\n')));
    expect(rows[0]!.image).toBe(rows[1]!.image); // two paragraphs of page 1
    expect(new Set(rows.map((r) => r.image)).size).toBe(3);
    const meta = await sharp(fileURLToPath(rows[0]!.image)).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 816, 1056]); // 612 x 792 pt at 96 dpi
    // text is drawn: some pixels are dark
    const stats = await sharp(fileURLToPath(rows[0]!.image)).stats();
    expect(stats.channels[0]!.min).toBeLessThan(100);
    const small = (await collect(documentSplitterDef.run(d.pdf, { separators: 'page', elements: ['image'], imageDpi: 36 }, ctx))) as unknown as Array<
      Row & { image: string }
    >;
    expect((await sharp(fileURLToPath(small[0]!.image)).metadata()).width).toBe(306);
    expect(Object.keys(documentSplitterDef.outputs({ separators: 'page', elements: ['image'] }))).toEqual(['text', 'image']);
  });

  test('a long PDF in three fonts: every page keeps its text and image across the reader’s periodic cleanups', async () => {
    // the reader thread drops pdfjs's caches (fonts, page dictionaries) every 50 pages, while the
    // next pages are being read ahead and between page renders: nothing read after one may lose a font
    const { PDFDocument, StandardFonts } = await import('pdf-lib');
    const doc = await PDFDocument.create();
    const fonts = await Promise.all([StandardFonts.Helvetica, StandardFonts.TimesRoman, StandardFonts.Courier].map((f) => doc.embedFont(f)));
    const PAGES = 130;
    for (let n = 1; n <= PAGES; n++) doc.addPage([200, 200]).drawText(`Page ${n} of the long one`, { x: 10, y: 150, size: 12, font: fonts[n % 3]! });
    const file = join(dir, 'long-fonts.pdf');
    await writeFile(file, await doc.save());
    const ctx = localContext(join(dir, 'out'));
    const rows = (await collect(
      documentSplitterDef.run(file, { separators: 'page', elements: ['text', 'image'], imageDpi: 36, metadata: ['page'] }, ctx),
    )) as unknown as Array<Row & { image: string }>;
    expect(rows.map((r) => [r.page, r.text])).toEqual(Array.from({ length: PAGES }, (_, i) => [i + 1, `Page ${i + 1} of the long one`]));
    expect(new Set(rows.map((r) => r.image)).size).toBe(PAGES);
    // pages just after each cleanup, in each font, are drawn (a blank page is all white, 255)
    for (const n of [51, 52, 53, 101, PAGES]) expect((await sharp(fileURLToPath(rows[n - 1]!.image)).stats()).channels[0]!.min).toBeLessThan(200);
    // and read without images (only text requests, the cleanups run between them)
    expect(await texts(file, { separators: 'page' })).toEqual(rows.map((r) => r.text));
  });

  test("a scanned PDF with elements 'image' gives its pages as images (empty text) and no warning", async () => {
    const ctx = localContext(join(dir, 'out'));
    const rows = (await collect(
      documentSplitterDef.run(d.pdfNoText, { separators: 'page', elements: ['image'], metadata: ['page'] }, ctx),
    )) as unknown as Array<Row & { image: string }>;
    expect(rows.map((r) => [r.text, r.page])).toEqual([['', 1]]);
    expect(ctx.warnings).toEqual([]);
    const { data, info } = await sharp(fileURLToPath(rows[0]!.image)).raw().toBuffer({ resolveWithObject: true });
    const px = (x: number, y: number) => data[(y * info.width + x) * info.channels]!;
    // the 50 pt square drawn at (10, 10) from the bottom-left of the 200 pt page, at 96 dpi
    expect([info.width, info.height]).toEqual([267, 267]);
    expect(px(40, 220)).toBeLessThan(50);
    expect(px(150, 50)).toBeGreaterThan(200);
  });

  test('HTML with elements image: image is null', async () => {
    const rows = (await split(d.html, { separators: ['page', 'heading'], elements: ['text', 'image'] })) as Array<Row & { image: string | null }>;
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.image === null)).toBe(true);
  });
});

describe('documentSplitter on a scanned PDF (no text layer)', () => {
  test('zero chunks and a warning naming the file, not a failure (retrying cannot help)', async () => {
    const ctx = localContext(join(dir, 'out'));
    expect(await collect(documentSplitterDef.run(d.pdfNoText, { separators: 'page' }, ctx))).toEqual([]);
    expect(ctx.warnings).toEqual([`${d.pdfNoText}: the PDF has no text layer (scanned pages need OCR first): no chunks`]);
  });

  test('an HTML page with no text is still an error (a broken page, worth a retry once fixed)', async () => {
    const html = join(dir, 'empty.html');
    await writeFile(html, '<html><head><title>x</title></head><body><nav>menu</nav></body></html>');
    await expect(split(html, { separators: 'paragraph' })).rejects.toThrow(/empty\.html: the HTML page has no text/);
  });
});

describe('documentSplitter parameters', () => {
  test.each([
    [{}, 'separators is required: one or more of heading, paragraph, sentence, token_limit, char_limit, page'],
    [{ separators: [] }, 'separators must be a separator or a non-empty list'],
    [{ separators: ['chapter'] }, `separators[0] must be one of 'heading', 'paragraph', 'sentence', 'token_limit', 'char_limit', 'page', got "chapter"`],
    [{ separators: ['token_limit'] }, 'limit is required with token_limit'],
    [{ separators: ['char_limit'] }, 'limit is required with char_limit'],
    [{ separators: ['heading'], limit: 100 }, 'limit is only allowed with token_limit or char_limit'],
    [{ separators: ['heading'], overlap: 10 }, 'overlap is only allowed with token_limit or char_limit'],
    [{ separators: ['token_limit', 'char_limit'], limit: 100 }, 'use token_limit or char_limit, not both'],
    [{ separators: ['token_limit'], limit: 100, overlap: 100 }, 'overlap (100) must be smaller than limit (100)'],
    [{ separators: ['token_limit'], limit: 0 }, 'limit must be a positive integer, got 0'],
    [{ separators: ['char_limit'], limit: 10, overlap: -1 }, 'overlap must be an integer >= 0, got -1'],
    [{ separators: ['char_limit'], limit: 10, tokenEncoding: 'o200k_base' }, 'tokenEncoding is only used with token_limit'],
    [{ separators: ['token_limit'], limit: 10, tokenEncoding: 'llama' }, `tokenEncoding must be one of`],
    [{ separators: ['heading'], metadata: ['author'] }, `metadata[0] must be one of 'title', 'heading', 'sourceline', 'page', 'bbox', got "author"`],
    [{ separators: ['heading', 'heading'] }, 'separators lists a separator twice'],
    [{ separators: ['heading'], chunkSize: 3 }, 'unknown parameter "chunkSize"'],
    [{ separators: ['heading'], elements: ['image'] }, "elements 'image' needs the page separator"],
    [{ separators: ['page'], elements: ['video'] }, `elements[0] must be one of 'text', 'image', got "video"`],
    [{ separators: ['page'], elements: [] }, `elements must be a non-empty list of 'text', 'image'`],
    [{ separators: ['page'], imageDpi: 100 }, "imageDpi is only used with elements 'image'"],
    [{ separators: ['page'], elements: ['image'], imageDpi: 1000 }, 'imageDpi must be at most 600, got 1000'],
  ])('%j is rejected', (params, message) => {
    expect(() => documentSplitterDef.validate(params as DocumentSplitterParams)).toThrow(message);
  });

  test('outputs: text plus the requested metadata, metadata nullable', () => {
    const out = documentSplitterDef.outputs({ separators: 'page', metadata: ['page', 'heading'] });
    expect(Object.keys(out)).toEqual(['text', 'heading', 'page']);
    expect(out.text.spec).toEqual(t.string().spec);
    expect((out as any).page.spec).toEqual(t.int().nullable().spec);
    expect((out as any).heading.spec.kind).toBe('json');
    expect((out as any).heading.spec.nullable).toBe(true);
  });
});
