import { checkKnownKeys, checkNonNegativeInt, checkObject, checkOneOf, checkPositiveInt } from '../common/check';
import { TOKEN_ENCODINGS, type TokenEncoding } from './tokens';

export const SEPARATORS = ['heading', 'paragraph', 'sentence', 'token_limit', 'char_limit', 'page'] as const;
export type Separator = (typeof SEPARATORS)[number];
export const METADATA_FIELDS = ['title', 'heading', 'sourceline', 'page', 'bbox'] as const;
export type MetadataField = (typeof METADATA_FIELDS)[number];

export interface DocumentSplitterParams<M extends MetadataField = MetadataField> {
  /** one separator or several, combined (see README) */
  separators: Separator | readonly Separator[];
  /** maximum chunk size in tokens (token_limit) or characters (char_limit); required with them and only with them */
  limit?: number;
  /** tokens/characters shared by consecutive pieces of a split chunk; default 0, smaller than limit */
  overlap?: number;
  /** extra output columns */
  metadata?: readonly M[];
  /** tiktoken encoding for token_limit (default cl100k_base), loaded offline */
  tokenEncoding?: TokenEncoding;
  /**
   * what each row carries: 'text' (default ['text']) and/or 'image', the PNG of the PDF page the
   * chunk is on (an `image` column; needs the `page` separator; every page gives a row, a page
   * without text one with empty text, so scanned pages reach vision models)
   */
  elements?: readonly ('text' | 'image')[];
  /** resolution of page images in dots per inch (default 96), only with elements 'image' */
  imageDpi?: number;
}

/** The validated, normalised form the splitter runs with. */
export interface SplitSpec {
  heading: boolean;
  paragraph: boolean;
  sentence: boolean;
  page: boolean;
  limit?: { unit: 'token' | 'char'; size: number; overlap: number; encoding: TokenEncoding };
  metadata: MetadataField[];
  /** page images requested (elements includes 'image'), at this many pixels per PDF point */
  image?: { scale: number };
}

export function normalizeDocumentParams(params: DocumentSplitterParams): SplitSpec {
  const p = checkObject(params, 'documentSplitter');
  checkKnownKeys(p, ['separators', 'limit', 'overlap', 'metadata', 'tokenEncoding', 'elements', 'imageDpi']);
  const raw = p.separators;
  if (raw === undefined) throw new Error(`separators is required: one or more of ${SEPARATORS.join(', ')}`);
  const list = typeof raw === 'string' ? [raw] : raw;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`separators must be a separator or a non-empty list of ${SEPARATORS.join(', ')}`);
  const seps = new Set(list.map((s, i) => checkOneOf(`separators[${i}]`, s, SEPARATORS)));
  if (seps.size !== list.length) throw new Error('separators lists a separator twice');

  const token = seps.has('token_limit');
  const char = seps.has('char_limit');
  if (token && char) throw new Error('use token_limit or char_limit, not both');
  let limit: SplitSpec['limit'];
  if (token || char) {
    if (p.limit === undefined) throw new Error(`limit is required with ${token ? 'token_limit' : 'char_limit'}`);
    const size = checkPositiveInt('limit', p.limit);
    const overlap = p.overlap === undefined ? 0 : checkNonNegativeInt('overlap', p.overlap);
    if (overlap >= size) throw new Error(`overlap (${overlap}) must be smaller than limit (${size})`);
    const encoding = p.tokenEncoding === undefined ? 'cl100k_base' : checkOneOf('tokenEncoding', p.tokenEncoding, TOKEN_ENCODINGS);
    if (p.tokenEncoding !== undefined && !token) throw new Error('tokenEncoding is only used with token_limit');
    limit = { unit: token ? 'token' : 'char', size, overlap, encoding };
  } else {
    if (p.limit !== undefined) throw new Error('limit is only allowed with token_limit or char_limit');
    if (p.overlap !== undefined) throw new Error('overlap is only allowed with token_limit or char_limit');
    if (p.tokenEncoding !== undefined) throw new Error('tokenEncoding is only used with token_limit');
  }

  const meta = p.metadata ?? [];
  if (!Array.isArray(meta)) throw new Error(`metadata must be a list of ${METADATA_FIELDS.join(', ')}`);
  const metadata = meta.map((m, i) => checkOneOf(`metadata[${i}]`, m, METADATA_FIELDS));
  if (new Set(metadata).size !== metadata.length) throw new Error('metadata lists a field twice');

  const elements = p.elements ?? ['text'];
  if (!Array.isArray(elements) || elements.length === 0) throw new Error(`elements must be a non-empty list of 'text', 'image'`);
  const els = elements.map((e, i) => checkOneOf(`elements[${i}]`, e, ['text', 'image'] as const));
  let image: SplitSpec['image'];
  if (els.includes('image')) {
    if (!seps.has('page')) throw new Error("elements 'image' needs the page separator (each row is then on one page)");
    const dpi = p.imageDpi === undefined ? 96 : checkPositiveInt('imageDpi', p.imageDpi);
    if (dpi > 600) throw new Error(`imageDpi must be at most 600, got ${dpi}`);
    image = { scale: dpi / 72 };
  } else if (p.imageDpi !== undefined) throw new Error("imageDpi is only used with elements 'image'");
  return {
    heading: seps.has('heading'),
    paragraph: seps.has('paragraph'),
    sentence: seps.has('sentence'),
    page: seps.has('page'),
    ...(limit ? { limit } : {}),
    metadata: METADATA_FIELDS.filter((f) => metadata.includes(f)),
    ...(image ? { image } : {}),
  };
}
