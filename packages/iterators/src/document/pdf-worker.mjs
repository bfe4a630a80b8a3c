// The PDF reader thread: pdfjs-dist runs here, in plain Node (the parent starts this worker with no
// loader hooks), so neither tsx's transform of pdfjs's 2 MB of JavaScript nor the parsing work lands on
// the main thread. Protocol: { id, op, ... } in, { id, ok, ... } out. See pdf-client.ts.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parentPort } from 'node:worker_threads';

// the worker module first: it registers globalThis.pdfjsWorker, so pdfjs parses on this thread
// (minified files: the others reference 8 MB of source maps that Node would parse when enabled)
await import('pdfjs-dist/legacy/build/pdf.worker.min.mjs');
const { getDocument, Util } = await import('pdfjs-dist/legacy/build/pdf.min.mjs');

const root = dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));
const options = {
  standardFontDataUrl: join(root, 'standard_fonts') + '/',
  cMapUrl: join(root, 'cmaps') + '/',
  cMapPacked: true,
  isEvalSupported: false,
  disableFontFace: true,
  useSystemFonts: false,
  verbosity: 0,
};

/**
 * pdfjs keeps what it parsed for the pages read (fonts, page dictionaries, images) until the document
 * is cleaned up: reading a 1,000-page PDF grew this thread by 27 MB, and by 12 MB with a cleanup
 * every 50 pages. Not while one of the document's pages is rendering, which pdfjs refuses.
 */
const CLEANUP_EVERY_PAGES = 50;

/** open documents by id: the pdfjs document, pages read since its last cleanup, renders in flight */
const docs = new Map();
let nextDoc = 1;

async function cleanupNow(entry) {
  if (entry.sinceCleanup < CLEANUP_EVERY_PAGES || entry.rendering > 0) return;
  entry.sinceCleanup = 0;
  // a failed cleanup only means the caches stay until the next one
  await entry.doc.cleanup().catch(() => undefined);
}

/** A page as PNG, `scale` pixels per PDF point, on a white background. */
async function renderPage(page, scale, createCanvas) {
  const viewport = page.getViewport({ scale });
  const canvas = createCanvas(Math.ceil(viewport.width), Math.ceil(viewport.height));
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = '#ffffff';
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  await page.render({ canvasContext: ctx, viewport, canvas }).promise;
  page.cleanup();
  const png = canvas.toBuffer('image/png');
  const data = new Uint8Array(png.buffer, png.byteOffset, png.byteLength).slice();
  return { data, transfer: [data.buffer] };
}

async function handle(msg) {
  switch (msg.op) {
    case 'open': {
      const doc = await getDocument({ ...options, data: msg.data }).promise;
      let title = null;
      try {
        const t = (await doc.getMetadata()).info?.Title;
        if (typeof t === 'string' && t.trim()) title = t.trim();
      } catch {
        // metadata is optional; a broken info dictionary must not lose the text
      }
      const docId = nextDoc++;
      docs.set(docId, { doc, sinceCleanup: 0, rendering: 0 });
      return { docId, title, pages: doc.numPages };
    }
    case 'page': {
      const entry = docs.get(msg.docId);
      const page = await entry.doc.getPage(msg.n);
      const content = await page.getTextContent();
      if (content.items.length > msg.maxItems) {
        page.cleanup();
        const e = new Error(`page ${msg.n} has ${content.items.length} text items, more than ${msg.maxItems} (TESSERA_MAX_PDF_PAGE_ITEMS)`);
        e.name = 'TooManyItems';
        throw e;
      }
      // boxes in the page's own view: PDF points from its top-left corner, y down, rotation applied
      const viewport = page.getViewport({ scale: 1 });
      page.cleanup();
      const items = [];
      for (const i of content.items) {
        if (typeof i.str !== 'string') continue;
        const t = Util.transform(viewport.transform, i.transform);
        const h = Math.hypot(t[2], t[3]);
        const box = [t[4], t[5] - h, t[4] + i.width, t[5]].map((v) => Math.round(v * 100) / 100);
        items.push({ str: i.str, hasEOL: i.hasEOL, transform: i.transform, width: i.width, height: i.height, box });
      }
      entry.sinceCleanup++;
      await cleanupNow(entry);
      return { items };
    }
    case 'render': {
      // a page as PNG for vision models (@napi-rs/canvas, pdfjs's canvas in Node); loaded on first use
      const { createCanvas } = await import('@napi-rs/canvas');
      const entry = docs.get(msg.docId);
      entry.rendering++;
      let png;
      try {
        png = await renderPage(await entry.doc.getPage(msg.n), msg.scale, createCanvas);
      } finally {
        entry.rendering--;
        entry.sinceCleanup++;
      }
      await cleanupNow(entry);
      return png;
    }
    case 'close': {
      const entry = docs.get(msg.docId);
      docs.delete(msg.docId);
      await entry?.doc.destroy();
      return {};
    }
    default:
      throw new Error(`unknown op ${msg.op}`);
  }
}

parentPort.on('message', (msg) => {
  handle(msg).then(
    ({ transfer, ...result }) => parentPort.postMessage({ id: msg.id, ok: true, ...result }, transfer ?? []),
    (e) => parentPort.postMessage({ id: msg.id, ok: false, name: e?.name ?? 'Error', message: e?.message ?? String(e) }),
  );
});
