import { defineUdf, t } from '@tessera/core';
import { localFile } from '../common/input';
import { openDocument } from './open-document';

/**
 * A document's whole text and its title, with the same parsers the document splitter uses (PDF,
 * HTML, Markdown, text): for columns over the whole document (word counts, keywords, a summary)
 * beside a view of its chunks. Blocks are joined by blank lines; a PDF without a text layer gives ''.
 */
export const documentTextUdf = defineUdf({
  name: 'document_text',
  version: '1',
  params: [t.document()],
  returns: t.string(),
  async fn([doc], ctx) {
    const parsed = await openDocument(await localFile(ctx, doc), doc);
    try {
      const parts: string[] = [];
      for await (const block of parsed.blocks) if (block.text.trim()) parts.push(block.text.trim());
      return parts.join('\n\n');
    } finally {
      await parsed.dispose?.();
    }
  },
});

/** The document's title: HTML `<title>`, the PDF's Title metadata, Markdown's first heading; null when it has none. */
export const documentTitleUdf = defineUdf({
  name: 'document_title',
  version: '1',
  params: [t.document()],
  returns: t.string().nullable(),
  async fn([doc], ctx) {
    const parsed = await openDocument(await localFile(ctx, doc), doc);
    await parsed.dispose?.();
    return parsed.title?.trim() || null;
  },
});

export const documentText = documentTextUdf;
export const documentTitle = documentTitleUdf;
