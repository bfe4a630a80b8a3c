import { iteratorCall, t, type ColumnType, type Expr, type IteratorCall, type IteratorContext, type IteratorDef } from '@tessera/core';
import { describeRef, inputError, localFile } from '../common/input';
import type { HeadingPath, PageBox } from './block';
import { chunkBlocks } from './chunker';
import { openDocument } from './open-document';
import { normalizeDocumentParams, type DocumentSplitterParams, type MetadataField } from './params';
import { encoderFor } from './tokens';

/** Metadata columns, all nullable: a text file has no page, a PDF no heading path. */
const metadataColumns = {
  title: t.string().nullable(),
  /** the h1..h6 path as a JSON object, e.g. {"h1":"Guide","h2":"Install"}; null before the first heading */
  heading: (t.json() as ColumnType<'json', HeadingPath>).nullable(),
  sourceline: t.int().nullable(),
  page: t.int().nullable(),
  /** PDF: where the chunk's text is, one [left, top, right, bottom] box (points from the top-left) per page */
  bbox: (t.json() as ColumnType<'json', PageBox[]>).nullable(),
};
/** with elements 'image': the PNG of the PDF page the row is on (null for other formats) */
const imageColumn = { image: t.image().nullable() };
type MetadataColumns = typeof metadataColumns;
export type DocumentOutputs<M extends MetadataField = MetadataField> = { text: ColumnType<'string', string> } & Pick<MetadataColumns, M>;
type Row = Record<string, string | number | HeadingPath | PageBox[] | null>;

function outputs(params: DocumentSplitterParams): DocumentOutputs {
  const spec = normalizeDocumentParams(params);
  const out: Record<string, ColumnType> = { text: t.string() };
  for (const m of spec.metadata) out[m] = metadataColumns[m];
  if (spec.image) Object.assign(out, imageColumn);
  return out as DocumentOutputs;
}

async function* runSplit(ref: string, params: DocumentSplitterParams, ctx: IteratorContext): AsyncGenerator<Row> {
  const spec = normalizeDocumentParams(params);
  const file = await localFile(ctx, ref);
  const encoder = spec.limit?.unit === 'token' ? await encoderFor(spec.limit.encoding) : undefined;
  const doc = await openDocument(file, ref, { emptyPages: spec.image !== undefined });
  let count = 0;
  // consecutive rows of one page share its image: rendered and written once
  let rendered: { page: number; url: string } | undefined;
  const pageImage = async (page: number | null): Promise<string | null> => {
    if (page === null || !doc.renderPage || !spec.image) return null;
    if (rendered?.page !== page) {
      const png = await doc.renderPage(page, spec.image.scale);
      rendered = { page, url: await ctx.media.write(ctx.destination, png, { extension: 'png', contentType: 'image/png' }) };
    }
    return rendered.url;
  };
  try {
    for await (const chunk of chunkBlocks(doc.blocks, spec, encoder)) {
      const row: Row = { text: chunk.text };
      for (const m of spec.metadata) {
        if (m === 'title') row.title = doc.title;
        else if (m === 'heading') row.heading = Object.keys(chunk.headings).length ? chunk.headings : null;
        else if (m === 'sourceline') row.sourceline = chunk.sourceline;
        else if (m === 'bbox') row.bbox = chunk.boxes ?? null;
        else row.page = chunk.page;
      }
      if (spec.image) row.image = await pageImage(chunk.page);
      count++;
      yield row;
    }
  } finally {
    await doc.dispose?.();
  }
  if (count === 0) {
    // a scanned PDF is a fact about the file, not a failure: retrying it (recompute --errors-only)
    // cannot help, so it is done with zero chunks and a warning on the cell
    if (doc.format === 'pdf') ctx.warn?.(`${describeRef(ref)}: the PDF has no text layer (scanned pages need OCR first): no chunks`);
    else throw inputError(ref, `the ${doc.format === 'html' ? 'HTML page' : 'document'} has no text`);
  }
}

export const documentSplitterDef: IteratorDef<DocumentSplitterParams, DocumentOutputs> = {
  name: 'documentSplitter',
  // 2: Markdown heading paths and titles leave out inline HTML; 3: DOCX/PPTX/XLSX, a scanned PDF is zero chunks + a warning
  version: '3',
  accepts: ['document'],
  queue: 'cpu',
  validate: (params) => void normalizeDocumentParams(params),
  outputs,
  run: runSplit as unknown as IteratorDef<DocumentSplitterParams, DocumentOutputs>['run'],
};

/**
 * Split documents (PDF, DOCX, PPTX, XLSX, HTML, Markdown, text) into chunks: one view row per chunk with `text` and
 * the requested metadata columns.
 */
export function documentSplitter<const M extends MetadataField = never>(
  document: Expr<'document', unknown>,
  params: DocumentSplitterParams<M>,
): IteratorCall<DocumentSplitterParams<M>, DocumentOutputs<M>> {
  return iteratorCall(documentSplitterDef as unknown as IteratorDef<DocumentSplitterParams<M>, DocumentOutputs<M>>, document, params);
}
