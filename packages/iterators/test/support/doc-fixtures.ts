import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { PDFDocument, StandardFonts } from 'pdf-lib';

/**
 * Write a real PDF with pdf-lib: each page is a list of paragraphs, each paragraph a list of lines.
 * Lines are 16 pt apart and paragraphs 32 pt, as a typesetter would place them.
 */
export async function writePdf(path: string, pages: string[][][], opts: { title?: string; fontSize?: number } = {}): Promise<void> {
  const doc = await PDFDocument.create();
  if (opts.title) doc.setTitle(opts.title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  const size = opts.fontSize ?? 11;
  for (const paragraphs of pages) {
    const page = doc.addPage([612, 792]);
    let y = 740;
    for (const lines of paragraphs) {
      for (const line of lines) {
        page.drawText(line, { x: 50, y, size, font });
        y -= size * 1.4;
      }
      y -= size * 1.4;
    }
  }
  await writeFile(path, await doc.save());
}

/**
 * A small hostile PDF: one page whose compressed content stream unpacks to `operators` text
 * operators (a million fit in about 70 KB and take pdfjs many seconds to read), written by hand
 * because pdf-lib would store them uncompressed.
 */
export async function writeDensePdf(path: string, operators: number): Promise<void> {
  const content = deflateSync(Buffer.from('BT /F1 1 Tf 1 1 Td (x) Tj ET\n'.repeat(operators)));
  const objects = [
    Buffer.from('<< /Type /Catalog /Pages 2 0 R >>'),
    Buffer.from('<< /Type /Pages /Kids [3 0 R] /Count 1 >>'),
    Buffer.from('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>'),
    Buffer.concat([Buffer.from(`<< /Length ${content.length} /Filter /FlateDecode >>\nstream\n`), content, Buffer.from('\nendstream')]),
    Buffer.from('<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>'),
  ];
  const parts = [Buffer.from('%PDF-1.4\n')];
  const offsets: number[] = [];
  let at = parts[0]!.length;
  objects.forEach((body, i) => {
    const obj = Buffer.concat([Buffer.from(`${i + 1} 0 obj\n`), body, Buffer.from('\nendobj\n')]);
    offsets.push(at);
    parts.push(obj);
    at += obj.length;
  });
  const xref = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
  parts.push(
    Buffer.from(`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${at}\n%%EOF\n`),
  );
  await writeFile(path, Buffer.concat(parts));
}

export const HTML = `<!DOCTYPE html>
<html><head><title>Widget Guide</title>
<style>h1 { color: red }</style></head>
<body>
<nav><h2>Site menu</h2><a href="/">Home</a> <a href="/docs">Docs</a></nav>
<h1>Widgets</h1>
<p>Widgets are small. They are useful.</p>
<h2>Install</h2>
<p>Run the installer.</p>
<p>Then restart &amp; relax.</p>
<h3>Linux</h3>
<p>Use the package manager.</p>
<script>var x = "<p>not text</p>";</script>
<h2>Usage</h2>
<p>Call the widget.
It wraps lines.</p>
</body></html>
`;

export const MARKDOWN = `---
title: Widget Manual
---
# Widgets

Widgets are small.
They are useful.

## Install

Run the installer.

\`\`\`sh
# not a heading
make install
\`\`\`

Usage
-----

Call the widget.
`;

export const TEXT = `Plain text has no headings.
Its first paragraph has two lines.

The second paragraph is one line.


The third paragraph follows two blank lines.
It ends here.
`;

export interface DocFixtures {
  html: string;
  htmlNoExt: string;
  htmlEmpty: string;
  markdown: string;
  text: string;
  pdf: string;
  pdfTruncated: string;
  pdfCorrupt: string;
  pdfNoText: string;
  notPdf: string;
  docx: string;
  png: string;
  missing: string;
}

/** The three pages of report.pdf: two paragraphs each, the first of two lines. */
export const PDF_PAGES = [1, 2, 3].map((n) => [
  [`Page ${n} opens here. It has two sentences`, `and wraps onto a second line.`],
  [`Closing paragraph of page ${n}.`],
]);

export async function makeDocFixtures(dir: string): Promise<DocFixtures> {
  const f = (name: string) => join(dir, name);
  await writeFile(f('guide.html'), HTML);
  await writeFile(f('guide-page'), HTML);
  await writeFile(f('empty.html'), '<html><head><title>Nothing</title><script>let a = 1;</script></head><body><nav><a href="/">Home</a></nav>  </body></html>');
  await writeFile(f('manual.md'), MARKDOWN);
  await writeFile(f('notes.txt'), TEXT);
  await writePdf(f('report.pdf'), PDF_PAGES, { title: 'Quarterly Report' });
  const pdf = await readFile(f('report.pdf'));
  await writeFile(f('truncated.pdf'), pdf.subarray(0, pdf.length >> 1));
  await writeFile(f('corrupt.pdf'), Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(2000, 0x41), Buffer.from('\n%%EOF\n')]));
  const blank = await PDFDocument.create();
  blank.addPage([200, 200]).drawRectangle({ x: 10, y: 10, width: 50, height: 50 });
  await writeFile(f('scan.pdf'), await blank.save());
  await writeFile(f('fake.pdf'), 'just text pretending to be a PDF\n');
  await writeFile(f('letter.docx'), Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(64, 0)]));
  await writeFile(f('picture.png'), Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(64, 0)]));
  return {
    html: f('guide.html'),
    htmlNoExt: f('guide-page'),
    htmlEmpty: f('empty.html'),
    markdown: f('manual.md'),
    text: f('notes.txt'),
    pdf: f('report.pdf'),
    pdfTruncated: f('truncated.pdf'),
    pdfCorrupt: f('corrupt.pdf'),
    pdfNoText: f('scan.pdf'),
    notPdf: f('fake.pdf'),
    docx: f('letter.docx'),
    png: f('picture.png'),
    missing: f('missing.pdf'),
  };
}
