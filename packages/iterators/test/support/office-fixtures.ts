import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { zipSync, strToU8 } from 'fflate';
import { Document, HeadingLevel, Packer, Paragraph, Table, TableCell, TableRow, TextRun, Tab } from 'docx';
import PptxGenJS from 'pptxgenjs';
import writeXlsxFile from 'write-excel-file/node';

export interface OfficeFixtures {
  docx: string;
  pptx: string;
  xlsx: string;
  /** a ZIP that is no Office document (an EPUB-like archive) */
  plainZip: string;
}

/**
 * Real Office files made by independent writers: `docx` (Word), `pptxgenjs` (PowerPoint) and
 * `write-excel-file` (Excel), so the parsers are checked against files they did not produce.
 */
export async function makeOfficeFixtures(dir: string): Promise<OfficeFixtures> {
  const f = (n: string) => join(dir, n);
  const cell = (text: string) => new TableCell({ children: [new Paragraph(text)] });
  const doc = new Document({
    title: 'Field Guide',
    sections: [
      {
        children: [
          new Paragraph({ text: 'Birds', heading: HeadingLevel.HEADING_1 }),
          new Paragraph({ children: [new TextRun('Robins sing'), new TextRun({ text: ' at dawn.', bold: true })] }),
          new Paragraph({ text: 'Owls', heading: HeadingLevel.HEADING_2 }),
          new Paragraph({
            children: [new TextRun('Owls hunt'), new TextRun({ children: [new Tab(), 'at night.'] }), new TextRun({ text: 'Quietly.', break: 1 })],
          }),
          new Table({ rows: [new TableRow({ children: [cell('Species'), cell('Count')] }), new TableRow({ children: [cell('Robin'), cell('12')] })] }),
          new Paragraph({ text: 'Fish', heading: HeadingLevel.HEADING_1 }),
          new Paragraph('Trout are fast & shy <always>.'),
        ],
      },
    ],
  });
  await writeFile(f('guide.docx'), await Packer.toBuffer(doc));

  const pptx = new (PptxGenJS as unknown as new () => any)();
  pptx.title = 'Results';
  pptx.defineSlideMaster({ title: 'M', objects: [{ placeholder: { options: { name: 'title', type: 'title', x: 0.5, y: 0.3, w: 9, h: 1 }, text: '' } }] });
  const s1 = pptx.addSlide({ masterName: 'M' });
  s1.addText('Quarter One', { placeholder: 'title' });
  s1.addText('Revenue grew 10%', { x: 1, y: 2, w: 6, h: 1 });
  s1.addText(
    [
      { text: 'North up', options: { bullet: true, breakLine: true } },
      { text: 'South flat', options: { bullet: true } },
    ],
    { x: 1, y: 3, w: 6, h: 2 },
  );
  const s2 = pptx.addSlide({ masterName: 'M' });
  s2.addText('Quarter Two', { placeholder: 'title' });
  s2.addText('Costs fell', { x: 1, y: 2, w: 6, h: 1 });
  await writeFile(f('results.pptx'), (await pptx.write({ outputType: 'nodebuffer' })) as Buffer);

  await (writeXlsxFile as any)([
    {
      sheet: 'Fruit',
      data: [
        [{ value: 'Name' }, { value: 'Qty' }, { value: 'Organic' }],
        [{ value: 'apple' }, { value: 3 }, { value: true }],
        [{ value: 'pear' }, null, { value: false }],
      ],
    },
    { sheet: 'Notes & more', data: [[{ value: 'checked by Ana' }]] },
  ]).toFile(f('stock.xlsx'));

  await writeFile(f('book.epub'), zipSync({ mimetype: strToU8('application/epub+zip'), 'OEBPS/ch1.xhtml': strToU8('<html><body><p>Hi</p></body></html>') }));
  return { docx: f('guide.docx'), pptx: f('results.pptx'), xlsx: f('stock.xlsx'), plainZip: f('book.epub') };
}
