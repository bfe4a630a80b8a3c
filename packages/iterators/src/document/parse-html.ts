import { Parser } from 'htmlparser2';
import { inputError } from '../common/input';
import { lineLocator, pushHeading, type Block, type HeadingPath, type ParsedDocument } from './block';

/** Elements whose text is not document content: navigation, scripts, styles, embedded objects. */
const SKIP = new Set(['nav', 'script', 'style', 'noscript', 'template', 'svg', 'math', 'canvas', 'iframe', 'object', 'select', 'button']);
/** Elements that start and end a paragraph-level block. */
const BLOCK = new Set([
  'address',
  'article',
  'aside',
  'blockquote',
  'body',
  'caption',
  'dd',
  'details',
  'dialog',
  'div',
  'dl',
  'dt',
  'fieldset',
  'figcaption',
  'figure',
  'footer',
  'form',
  'header',
  'hgroup',
  'hr',
  'html',
  'li',
  'main',
  'ol',
  'p',
  'pre',
  'section',
  'summary',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'tr',
  'ul',
]);
const HEADING = /^h([1-6])$/;
/**
 * Deepest element nesting read. htmlparser2 keeps its open elements with Array.unshift, a cost that
 * grows with the depth, so nesting is quadratic: 200,000 nested divs (1.4 MB) took 37 s. Browsers
 * flatten past 512 levels, so no page meant to be read goes this deep.
 */
const MAX_DEPTH = 1000;
/** placeholder for <br> (U+2028 LINE SEPARATOR): the whitespace collapse leaves it alone, then it becomes \n */
const BR = '\u2028';

/**
 * HTML with htmlparser2's streaming tokenizer (no DOM is built). Text is collected per block
 * element; h1..h6 become heading blocks and set the heading path; <nav> (and role=navigation),
 * scripts, styles and hidden elements are skipped; <title> is the document title. Whitespace collapses as a
 * browser renders it, except inside <pre>.
 */
export function parseHtml(source: string, ref: string): ParsedDocument {
  const lineAt = lineLocator(source);
  const blocks: Block[] = [];
  let path: HeadingPath = {};
  let title: string | null = null;
  let inTitle = false;
  let titleText = '';
  let skipDepth = 0;
  const skipStack: string[] = [];
  let pre = 0;
  let headingLevel = 0;
  let buf = '';
  let bufLine: number | null = null;
  // open elements: htmlparser2 reports a close for every open (void and implied ones included)
  let depth = 0;

  const flush = () => {
    // source whitespace collapses to one space; a <br> (BR) survives as a line break
    const text = (pre ? buf.replace(/^\n+|\s+$/g, '') : buf.replace(/[ \t\n\r\f]+/g, ' ').replace(/ ?\u2028 ?/g, '\n')).trim();
    if (text) {
      if (headingLevel) {
        path = pushHeading(path, headingLevel, text);
        blocks.push({ text, heading: headingLevel, headings: path, sourceline: bufLine, page: null });
      } else blocks.push({ text, headings: path, sourceline: bufLine, page: null });
    }
    buf = '';
    bufLine = null;
  };

  const parser = new Parser(
    {
      onopentag(name, attribs) {
        if (++depth > MAX_DEPTH) throw inputError(ref, `nests HTML elements more than ${MAX_DEPTH} deep`);
        if (name === 'title' && !skipDepth) {
          inTitle = true;
          return;
        }
        if (skipDepth || SKIP.has(name) || attribs.role === 'navigation' || attribs.hidden !== undefined || attribs['aria-hidden'] === 'true') {
          skipStack.push(name);
          skipDepth++;
          return;
        }
        const h = HEADING.exec(name);
        if (h) {
          flush();
          headingLevel = Number(h[1]);
        } else if (BLOCK.has(name)) flush();
        else if (name === 'br') buf += pre ? '\n' : BR;
        if (name === 'pre') pre++;
        if (name === 'td' || name === 'th') buf += ' ';
      },
      ontext(data) {
        if (inTitle) {
          titleText += data;
          return;
        }
        if (skipDepth) return;
        if (bufLine === null) {
          const firstChar = data.search(/\S/);
          if (firstChar >= 0) bufLine = lineAt(parser.startIndex + firstChar);
        }
        buf += data;
      },
      onclosetag(name) {
        depth--;
        if (name === 'title' && inTitle) {
          inTitle = false;
          title = titleText.replace(/\s+/g, ' ').trim() || null;
          return;
        }
        if (skipDepth) {
          if (skipStack.at(-1) === name) {
            skipStack.pop();
            skipDepth--;
          }
          return;
        }
        if (HEADING.test(name)) {
          flush();
          headingLevel = 0;
        } else if (BLOCK.has(name)) flush();
        if (name === 'pre') pre = Math.max(0, pre - 1);
      },
    },
    { decodeEntities: true, lowerCaseTags: true, lowerCaseAttributeNames: true },
  );
  parser.end(source);
  flush();
  return { format: 'html', title, blocks };
}
