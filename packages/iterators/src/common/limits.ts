import { inputError } from './input';

/**
 * Bounds on decoded media, so a small hostile file (a 16000x16000 PNG of one colour, a PDF of a
 * million empty pages, a video claiming days) is a clear cell error rather than hours of work or
 * memory exhaustion. Read from the environment on each use (documented in the README's Security section).
 */
export function mediaLimits(env: NodeJS.ProcessEnv = process.env) {
  const num = (name: string, def: number) => {
    const v = Number(env[name]);
    return Number.isFinite(v) && v > 0 ? v : def;
  };
  return {
    maxImagePixels: num('TESSERA_MAX_IMAGE_PIXELS', 50_000_000),
    maxPdfPages: num('TESSERA_MAX_PDF_PAGES', 5_000),
    /** a dense page's text items are all copied to the worker's main thread; a real page has a few thousand */
    maxPdfPageItems: num('TESSERA_MAX_PDF_PAGE_ITEMS', 100_000),
    maxMediaSeconds: num('TESSERA_MAX_MEDIA_SECONDS', 12 * 3600),
    /** a document is parsed in memory: its file, and an Office document's XML once unzipped */
    maxDocumentBytes: num('TESSERA_MAX_DOCUMENT_BYTES', 256 * 1024 ** 2),
    /** how long a PDF reader may work without answering before its PDF is given up */
    pdfStallMs: num('TESSERA_PDF_STALL_MS', 120_000),
    /** how long ffmpeg or ffprobe may show no sign of work before it is stopped */
    ffmpegStallMs: num('TESSERA_FFMPEG_STALL_MS', 120_000),
    /** PDF reader threads per process: each open PDF has its own up to this many (512 MB of heap each at most) */
    pdfReaders: num('TESSERA_PDF_READERS', 2),
  };
}

export function checkImagePixels(ref: string, width: number, height: number): void {
  const max = mediaLimits().maxImagePixels;
  if (width * height > max) throw inputError(ref, `is ${width}x${height} pixels, more than ${max} (TESSERA_MAX_IMAGE_PIXELS)`);
}

export function checkPdfPages(ref: string, pages: number): void {
  const max = mediaLimits().maxPdfPages;
  if (pages > max) throw inputError(ref, `has ${pages} pages, more than ${max} (TESSERA_MAX_PDF_PAGES)`);
}

export function checkMediaSeconds(ref: string, seconds: number | undefined): void {
  const max = mediaLimits().maxMediaSeconds;
  if (seconds !== undefined && seconds > max) throw inputError(ref, `lasts ${Math.round(seconds)} s, more than ${max} s (TESSERA_MAX_MEDIA_SECONDS)`);
}

export function checkDocumentBytes(ref: string, bytes: number, what = 'is'): void {
  const max = mediaLimits().maxDocumentBytes;
  if (bytes > max) throw inputError(ref, `${what} ${bytes} bytes, more than ${max} (TESSERA_MAX_DOCUMENT_BYTES)`);
}
