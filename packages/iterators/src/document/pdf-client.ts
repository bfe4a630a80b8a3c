import { Worker } from 'node:worker_threads';
import { mediaLimits } from '../common/limits';

export interface PdfTextItem {
  str: string;
  hasEOL: boolean;
  transform: number[];
  width: number;
  height: number;
  /** [left, top, right, bottom] in PDF points from the page's top-left corner */
  box: [number, number, number, number];
}

/** An error pdfjs raised in the reader thread (name kept: PasswordException, InvalidPDFException...). */
export class PdfReaderError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

type Pending = { resolve: (v: any) => void; reject: (e: Error) => void };

/** Heap cap of a reader thread: a hostile PDF fails its own cell instead of exhausting the worker. */
const READER_HEAP_MB = 512;
/**
 * pdfjs allocates many short-lived objects per page; a small young generation collects them sooner.
 * Measured on a 1,000-page PDF: peak RSS 205 MB with V8's default, 176 MB with 4 MB.
 */
const READER_YOUNG_MB = 4;
/** Readers kept started between documents (a start costs 170-270 ms: pdfjs's code is loaded anew). */
const IDLE_READERS_KEPT = 2;

/**
 * A PDF reader thread. Each open document has one of its own while there are at most
 * TESSERA_PDF_READERS of them (each may grow to READER_HEAP_MB), so whatever a document does to its
 * thread (a parse that never answers, a heap exhausted, a crash) fails that document alone; past
 * that bound, documents share the least busy reader, and if a shared reader stops, its documents get
 * a transient error and are read again by their job's next attempt (most likely alone) rather than
 * all be blamed. A thread that stops is never used again. It is unref'd while idle so it never keeps
 * a process alive, and ref'd while a request is open.
 */
class PdfReader {
  private readonly worker: Worker;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private watchdog: NodeJS.Timeout | undefined;
  /** why the thread stopped; set once, then every request fails with it */
  stopped: PdfReaderError | undefined;
  /** documents open in this reader */
  documents = 0;

  constructor() {
    // execArgv [] : no loader hooks (tsx) in the reader; it is plain JavaScript
    const w = new Worker(new URL('./pdf-worker.mjs', import.meta.url), {
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: READER_HEAP_MB, maxYoungGenerationSizeMb: READER_YOUNG_MB },
    });
    this.worker = w;
    w.unref();
    w.on('message', (msg: { id: number; ok: boolean; name?: string; message?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      this.armWatchdog();
      if (this.pending.size === 0) w.unref();
      if (msg.ok) p.resolve(msg);
      else p.reject(new PdfReaderError(msg.name ?? 'Error', msg.message ?? 'unknown error'));
    });
    w.on('error', (e: Error & { code?: string }) =>
      this.stop(
        e.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? new PdfReaderError('ReaderOutOfMemory', `needs more memory than the PDF reader's ${READER_HEAP_MB} MB`)
          : new PdfReaderError('ReaderStopped', `the PDF reader stopped (${e.message})`),
      ),
    );
    w.on('exit', (code) => this.stop(new PdfReaderError('ReaderStopped', `the PDF reader stopped (exit code ${code})`)));
  }

  request<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    const id = this.nextId++;
    const first = this.pending.size === 0;
    if (first) this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
      if (first) this.armWatchdog();
    });
  }

  /**
   * The stall deadline runs while requests are open and restarts at each answer: pdfjs parsing a
   * crafted content stream (a 70 KB file holding a million text operators took 16 s for one page)
   * or never finishing would otherwise hold its job, its lock renewed, for ever.
   */
  private armWatchdog(): void {
    clearTimeout(this.watchdog);
    this.watchdog = undefined;
    if (this.pending.size === 0 || this.stopped) return;
    const ms = mediaLimits().pdfStallMs;
    this.watchdog = setTimeout(() => {
      this.stop(new PdfReaderError('ReaderStalled', `the PDF reader gave no answer in ${ms / 1000} s (TESSERA_PDF_STALL_MS); the PDF is given up`));
    }, ms);
    this.watchdog.unref();
  }

  private stop(why: PdfReaderError): void {
    if (this.stopped) return;
    // shared, the reader cannot tell whose document stopped it
    if (this.documents > 1 && why.name !== 'ReaderRetired')
      why = new PdfReaderError('ReaderShared', `the PDF reader it shared with ${this.documents - 1} other PDF(s) stopped: ${why.message}`);
    this.stopped = why;
    clearTimeout(this.watchdog);
    for (const p of this.pending.values()) p.reject(why);
    this.pending.clear();
    void this.worker.terminate();
  }

  /** Stop an idle thread the pool does not keep. */
  retire(): void {
    this.stop(new PdfReaderError('ReaderRetired', 'the PDF reader was retired'));
  }
}

/** Every reader not stopped: those with open documents and those waiting for their next one. */
const readers = new Set<PdfReader>();

function takeReader(): PdfReader {
  let least: PdfReader | undefined;
  for (const r of readers) {
    if (r.stopped) readers.delete(r);
    else if (!least || r.documents < least.documents) least = r;
  }
  const reader = least && (least.documents === 0 || readers.size >= mediaLimits().pdfReaders) ? least : new PdfReader();
  readers.add(reader);
  reader.documents++;
  return reader;
}

function returnReader(r: PdfReader): void {
  r.documents--;
  if (r.stopped) {
    readers.delete(r);
    return;
  }
  if (r.documents > 0) return;
  let idle = 0;
  for (const other of readers) if (other.documents === 0 && !other.stopped) idle++;
  if (idle > IDLE_READERS_KEPT) {
    readers.delete(r);
    r.retire();
  }
}

export interface OpenPdf {
  title: string | null;
  pages: number;
  page(n: number): Promise<PdfTextItem[]>;
  /** page `n` rendered as PNG at `scale` pixels per PDF point */
  render(n: number, scale: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Open a PDF in a reader thread of its own; `bytes` is transferred (the caller must not use it again). */
export async function openPdf(bytes: Uint8Array): Promise<OpenPdf> {
  const reader = takeReader();
  let opened: { docId: number; title: string | null; pages: number };
  try {
    opened = await reader.request({ op: 'open', data: bytes }, [bytes.buffer as ArrayBuffer]);
  } catch (e) {
    returnReader(reader);
    throw e;
  }
  let closed = false;
  return {
    title: opened.title,
    pages: opened.pages,
    page: async (n) => (await reader.request<{ items: PdfTextItem[] }>({ op: 'page', docId: opened.docId, n, maxItems: mediaLimits().maxPdfPageItems })).items,
    render: async (n, scale) => Buffer.from((await reader.request<{ data: Uint8Array }>({ op: 'render', docId: opened.docId, n, scale })).data.buffer),
    close: async () => {
      if (closed) return;
      closed = true;
      await reader.request({ op: 'close', docId: opened.docId }).catch(() => undefined);
      returnReader(reader);
    },
  };
}
