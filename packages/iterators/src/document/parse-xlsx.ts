import { Parser } from 'htmlparser2';
import type { Block, ParsedDocument } from './block';
import { coreTitle, relationships, type OoxmlPackage } from './ooxml-zip';

/** xl/sharedStrings.xml: the text of each <si> (rich-text runs joined, phonetic guides left out). */
function sharedStrings(xml: string | undefined): string[] {
  const out: string[] = [];
  if (!xml) return out;
  let cur: string | undefined;
  let inText = false;
  let phonetic = 0;
  const p = new Parser(
    {
      onopentag(name) {
        if (name === 'si') cur = '';
        else if (name === 'rPh') phonetic++;
        else if (name === 't' && !phonetic) inText = true;
      },
      ontext(text) {
        if (inText && cur !== undefined) cur += text;
      },
      onclosetag(name) {
        if (name === 't') inText = false;
        else if (name === 'rPh') phonetic--;
        else if (name === 'si') {
          out.push(cur ?? '');
          cur = undefined;
        }
      },
    },
    { xmlMode: true },
  );
  p.end(xml);
  return out;
}

/** Column index (0-based) of a cell reference such as "C7". */
function columnOf(ref: string | undefined, fallback: number): number {
  const letters = /^([A-Z]+)/.exec(ref ?? '')?.[1];
  if (!letters) return fallback;
  let n = 0;
  for (const ch of letters) n = n * 26 + (ch.charCodeAt(0) - 64);
  return n - 1;
}

/** The rows of one worksheet, each as its cell texts by column. */
function sheetRows(xml: string, strings: string[]): string[][] {
  const rows: string[][] = [];
  let row: string[] | undefined;
  let cell: { col: number; type: string; value: string } | undefined;
  let capture = false;
  const p = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'row') row = [];
        else if (name === 'c' && row) cell = { col: columnOf(attrs.r, row.length), type: attrs.t ?? 'n', value: '' };
        else if (cell && (name === 'v' || name === 't')) capture = true;
      },
      ontext(text) {
        if (capture && cell) cell.value += text;
      },
      onclosetag(name) {
        if (name === 'v' || name === 't') capture = false;
        else if (name === 'c' && cell && row) {
          const v = cell.type === 's' ? (strings[Number(cell.value)] ?? '') : cell.type === 'b' ? (cell.value === '1' ? 'TRUE' : 'FALSE') : cell.value;
          while (row.length < cell.col) row.push('');
          row[cell.col] = v.trim();
          cell = undefined;
        } else if (name === 'row' && row) {
          while (row.length && !row[row.length - 1]) row.pop();
          if (row.length) rows.push(row);
          row = undefined;
        }
      },
    },
    { xmlMode: true },
  );
  p.end(xml);
  return rows;
}

/**
 * An Excel workbook: one page per worksheet (metadata `page` is the sheet's position, `heading`
 * its name as h1); every non-empty row is a block, its cells joined by " | " (empty cells keep
 * their place so columns line up). Values are as stored: shared and inline strings, numbers as
 * written in the file (dates are Excel serial numbers), booleans as TRUE/FALSE, formulas by their
 * cached result.
 */
export function parseXlsx(pkg: OoxmlPackage): ParsedDocument {
  const strings = sharedStrings(pkg.get('xl/sharedStrings.xml'));
  const rels = relationships(pkg.get('xl/_rels/workbook.xml.rels'), 'xl');
  const sheets = [...(pkg.get('xl/workbook.xml') ?? '').matchAll(/<sheet\b([^>]*)\/?>/g)].map((m) => ({
    name: decode(/\bname="([^"]*)"/.exec(m[1]!)?.[1] ?? ''),
    path: rels.get(/\br:id="([^"]*)"/.exec(m[1]!)?.[1] ?? ''),
  }));
  const blocks: Block[] = [];
  sheets.forEach((sheet, i) => {
    const xml = sheet.path ? pkg.get(sheet.path) : undefined;
    if (!xml) return;
    const page = i + 1;
    const headings = sheet.name ? { h1: sheet.name } : {};
    if (sheet.name) blocks.push({ text: sheet.name, heading: 1, headings, sourceline: null, page });
    for (const row of sheetRows(xml, strings)) blocks.push({ text: row.join(' | '), headings, sourceline: null, page });
  });
  return { format: 'xlsx', title: coreTitle(pkg), blocks };
}

const decode = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'");
