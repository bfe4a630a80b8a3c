import { join } from 'node:path';
import { CellInputError, type UdfContext } from '@tessera/core';
import { documentText, documentTitle } from '@tessera/iterators';
import { makeDocFixtures, type DocFixtures } from './support/doc-fixtures';
import { localContext } from '../../../test/support/local-media';
import { tempDir } from '../../../test/support/temp-dir';

/** documentText / documentTitle: the whole text and the title, through the splitter's parsers. */
const dir = tempDir('tessera-doctext-');
let docs: DocFixtures;
let ctx: UdfContext;
beforeAll(async () => {
  docs = await makeDocFixtures(dir);
  ctx = { media: localContext(dir).media, column: { table: 'docs', name: 'text' } };
});

const text = (ref: string) => documentText.spec.fn!([ref], ctx) as Promise<string>;
const title = (ref: string) => documentTitle.spec.fn!([ref], ctx) as Promise<string | null>;

test('PDF, HTML, Markdown and text: the text of every block, and the title', async () => {
  const pdf = await text(docs.pdf);
  for (const n of [1, 2, 3]) expect(pdf).toContain(`Closing paragraph of page ${n}.`);
  expect(await title(docs.pdf)).toBe('Quarterly Report');
  const html = await text(docs.html);
  expect(html).toContain('Then restart & relax.');
  expect(html).not.toContain('not text'); // scripts are not text
  expect(await title(docs.html)).toBe('Widget Guide');
  expect(await text(docs.markdown)).toContain('make install');
  expect(await title(docs.markdown)).toBe('Widget Manual');
  expect(await title(docs.text)).toBeNull();
  expect((await text(docs.text)).split('\n\n')).toHaveLength(3);
  expect(await text(docs.pdfNoText)).toBe('');
});

test('a broken or missing document is a cell error naming it', async () => {
  await expect(text(docs.pdfTruncated)).rejects.toThrow(CellInputError);
  await expect(text(docs.pdfTruncated)).rejects.toThrow(/truncated/);
  await expect(title(docs.missing)).rejects.toThrow(CellInputError);
});
