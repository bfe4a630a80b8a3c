import { Parser } from 'htmlparser2';
import { pushHeading, type Block, type HeadingPath, type ParsedDocument } from './block';
import { coreTitle, type OoxmlPackage } from './ooxml-zip';

interface StyleInfo {
  name: string;
  outline?: number;
}

/** styleId -> name and outline level, from word/styles.xml (a heading style is "heading N" or has an outline level). */
function readStyles(xml: string | undefined): Map<string, StyleInfo> {
  const styles = new Map<string, StyleInfo>();
  if (!xml) return styles;
  let cur: { id: string; info: StyleInfo } | undefined;
  const p = new Parser(
    {
      onopentag(name, attrs) {
        if (name === 'w:style') cur = { id: attrs['w:styleId'] ?? '', info: { name: '' } };
        else if (cur && name === 'w:name') cur.info.name = attrs['w:val'] ?? '';
        else if (cur && name === 'w:outlineLvl') cur.info.outline = Number(attrs['w:val']);
      },
      onclosetag(name) {
        if (name === 'w:style' && cur) {
          styles.set(cur.id, cur.info);
          cur = undefined;
        }
      },
    },
    { xmlMode: true },
  );
  p.end(xml);
  return styles;
}

/** Heading level 1..6 of a paragraph style (or its own outline level), 0 for body text; -1 for the Title style. */
function headingLevel(styleId: string | undefined, outline: number | undefined, styles: Map<string, StyleInfo>): number {
  const style = styleId ? styles.get(styleId) : undefined;
  const name = (style?.name || styleId || '').toLowerCase();
  if (name === 'title') return -1;
  const m = /^heading\s*([1-9])$/.exec(name);
  if (m) return Math.min(6, Number(m[1]));
  const lvl = outline ?? style?.outline;
  return lvl !== undefined && lvl >= 0 && lvl < 9 ? Math.min(6, lvl + 1) : 0;
}

/**
 * A Word document (word/document.xml, streamed through htmlparser2 in XML mode): every paragraph
 * is a block; paragraphs styled "heading N" (or with an outline level) are headings and set the
 * heading path; a table row is one block, its cells joined by " | ". Tabs and line breaks inside a
 * paragraph are kept; deleted text (tracked changes) and field codes are not. Title: the core
 * properties' dc:title, else the first Title-styled paragraph.
 */
export function parseDocx(pkg: OoxmlPackage): ParsedDocument {
  const styles = readStyles(pkg.get('word/styles.xml'));
  const blocks: Block[] = [];
  let title = coreTitle(pkg);
  let path: HeadingPath = {};
  let para = '';
  let styleId: string | undefined;
  let outline: number | undefined;
  let inText = false;
  let tableDepth = 0;
  let row: string[] | undefined;
  let cell = '';

  const push = (text: string, level: number) => {
    const clean = text.replace(/[ \u00a0]+\n/g, '\n').trim();
    if (!clean) return;
    if (level === -1) {
      title ??= clean;
      level = 1;
    }
    if (level > 0) {
      path = pushHeading(path, level, clean.replace(/\s+/g, ' '));
      blocks.push({ text: clean, heading: level, headings: path, sourceline: null, page: null });
    } else blocks.push({ text: clean, headings: path, sourceline: null, page: null });
  };

  const parser = new Parser(
    {
      onopentag(name, attrs) {
        switch (name) {
          case 'w:p':
            para = '';
            styleId = undefined;
            outline = undefined;
            break;
          case 'w:pStyle':
            styleId = attrs['w:val'];
            break;
          case 'w:outlineLvl':
            outline = Number(attrs['w:val']);
            break;
          case 'w:t':
            inText = true;
            break;
          case 'w:tab':
            para += '\t';
            break;
          case 'w:br':
          case 'w:cr':
            para += '\n';
            break;
          case 'w:tbl':
            tableDepth++;
            break;
          case 'w:tr':
            if (tableDepth === 1) row = [];
            break;
          case 'w:tc':
            if (tableDepth === 1) cell = '';
            break;
        }
      },
      ontext(text) {
        if (inText) para += text;
      },
      onclosetag(name) {
        switch (name) {
          case 'w:t':
            inText = false;
            break;
          case 'w:p':
            if (tableDepth > 0) cell += (cell && para.trim() ? '\n' : '') + para.trim();
            else push(para, headingLevel(styleId, outline, styles));
            para = '';
            break;
          case 'w:tc':
            if (tableDepth === 1) row?.push(cell.trim());
            break;
          case 'w:tr':
            if (tableDepth === 1 && row) push(row.join(' | ').replace(/( \| )+$/, ''), 0);
            row = undefined;
            break;
          case 'w:tbl':
            tableDepth--;
            break;
        }
      },
    },
    { xmlMode: true },
  );
  parser.end(pkg.get('word/document.xml') ?? '');
  return { format: 'docx', title, blocks };
}
