import { readFile, stat } from 'node:fs/promises';
import { CellInputError } from '@tessera/core';
import { checkDocumentBytes } from '../common/limits';
import { extensionOf, inputError } from '../common/input';
import type { ParsedDocument } from './block';
import { ooxmlKind, OoxmlPackage } from './ooxml-zip';
import { parseDocx } from './parse-docx';
import { parseHtml } from './parse-html';
import { parsePptx } from './parse-pptx';
import { parseXlsx } from './parse-xlsx';
import { parseMarkdown } from './parse-markdown';
import { parsePdf } from './parse-pdf';
import { parseText } from './parse-text';

const ZIP_MAGIC = Buffer.from('PK\x03\x04', 'latin1');

/** Office Open XML (docx, pptx, xlsx): only the XML parts are inflated. Undefined: another kind of ZIP. */
function openOoxml(bytes: Buffer, ref: string): ParsedDocument | undefined {
  let pkg: OoxmlPackage;
  try {
    pkg = OoxmlPackage.open(
      bytes,
      (name) => name.endsWith('.xml') || name.endsWith('.rels'),
      (unzipped) => checkDocumentBytes(ref, unzipped, 'unzips to at least'),
    );
  } catch (e) {
    if (e instanceof CellInputError) throw e;
    throw inputError(ref, `is a damaged ZIP container (${(e as Error).message})`);
  }
  switch (ooxmlKind(pkg.paths())) {
    case 'docx':
      return parseDocx(pkg);
    case 'pptx':
      return parsePptx(pkg);
    case 'xlsx':
      return parseXlsx(pkg);
    default:
      return undefined;
  }
}

const HTML_EXT = new Set(['html', 'htm', 'xhtml', 'shtml']);
const MD_EXT = new Set(['md', 'markdown', 'mdown', 'mkd', 'mdx']);
const TEXT_EXT = new Set(['txt', 'text']);

/** What a binary file most likely is, for the "unsupported format" message. */
function describeBinary(b: Buffer): string {
  const head = b.subarray(0, 8);
  if (head.subarray(0, 4).equals(ZIP_MAGIC)) return 'a ZIP container that is not a Word, PowerPoint or Excel document (epub, odt, a plain archive, ...)';
  if (head.subarray(0, 8).equals(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]))) return 'an OLE file (legacy doc, xls, ppt)';
  if (head.subarray(0, 4).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47])) || head.subarray(0, 3).equals(Buffer.from([0xff, 0xd8, 0xff]))) return 'an image';
  if (head.subarray(4, 8).toString('latin1') === 'ftyp') return 'an MP4/MOV media file';
  return 'binary data';
}

function looksBinary(b: Buffer): boolean {
  const sample = b.subarray(0, 8192);
  if (sample.includes(0)) return true;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return false;
  } catch {
    return true;
  }
}

const looksHtml = (s: string) => /^\s*(<\?xml[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*(<!doctype html|<html[\s>]|<head[\s>]|<body[\s>])/i.test(s);
const looksMarkdown = (s: string) => /^ {0,3}#{1,6}[ \t]+\S/m.test(s) || /^\S.*\n {0,3}=+[ \t]*$/m.test(s);

/**
 * Detect a document's format from its content first (PDF magic, binary vs text), then its name
 * (the reference's extension, else the local file's), then by sniffing text. Anything else is a
 * cell error that names the file.
 */
export async function openDocument(
  file: string,
  ref: string,
  opts: { emptyPages?: boolean } = {},
): Promise<ParsedDocument & { dispose?: () => Promise<void> }> {
  let bytes: Buffer;
  try {
    // the size first: the whole file is read into memory
    checkDocumentBytes(ref, (await stat(file)).size);
    bytes = await readFile(file);
  } catch (e) {
    if (e instanceof CellInputError) throw e;
    throw inputError(ref, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const ext = extensionOf(ref) || extensionOf(file);
  const pdfAt = bytes.subarray(0, 1024).indexOf('%PDF-');
  if (pdfAt >= 0) {
    // a PDF always ends with %%EOF (plus maybe a newline or a little junk); without it the download was cut short
    if (bytes.subarray(Math.max(0, bytes.length - 2048)).indexOf('%%EOF') < 0) throw inputError(ref, 'the PDF is truncated (no %%EOF at the end)');
    return parsePdf(bytes, ref, opts);
  }
  if (ext === 'pdf') throw inputError(ref, 'is named .pdf but is not a PDF (no %PDF- header)');
  if (bytes.subarray(0, 4).equals(ZIP_MAGIC)) {
    const office = openOoxml(bytes, ref);
    if (office) return office;
  }
  if (bytes.length === 0) throw inputError(ref, 'is empty');
  if (looksBinary(bytes))
    throw inputError(
      ref,
      `unsupported document format: ${describeBinary(bytes)}${ext ? ` (.${ext})` : ''}; supported are PDF, DOCX, PPTX, XLSX, HTML, Markdown and plain text`,
    );
  const source = bytes.toString('utf8').replace(/^\uFEFF/, '');
  if (HTML_EXT.has(ext)) return parseHtml(source, ref);
  if (MD_EXT.has(ext)) return parseMarkdown(source);
  if (TEXT_EXT.has(ext)) return parseText(source);
  if (looksHtml(source)) return parseHtml(source, ref);
  if (looksMarkdown(source)) return parseMarkdown(source);
  return parseText(source);
}
