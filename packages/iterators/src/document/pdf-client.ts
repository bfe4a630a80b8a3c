import { Worker } from 'node:worker_threads';

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

/** Heap cap of the reader thread: a hostile PDF fails its own cell instead of exhausting the worker. */
const READER_HEAP_MB = 512;
/**
 * pdfjs allocates many short-lived objects per page; a small young generation collects them sooner.
 * Measured on a 1,000-page PDF: peak RSS 205 MB with V8's default, 176 MB with 4 MB.
 */
const READER_YOUNG_MB = 4;

/**
 * One shared PDF reader thread per process, started on first use and restarted if it dies.
 * It is unref'd while idle so it never keeps a process alive, and ref'd while a request is open.
 */
class PdfReader {
  private worker: Worker | undefined;
  private pending = new Map<number, Pending>();
  private nextId = 1;

  private start(): Worker {
    // execArgv [] : no loader hooks (tsx) in the reader; it is plain JavaScript
    const w = new Worker(new URL('./pdf-worker.mjs', import.meta.url), {
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: READER_HEAP_MB, maxYoungGenerationSizeMb: READER_YOUNG_MB },
    });
    w.unref();
    w.on('message', (msg: { id: number; ok: boolean; name?: string; message?: string }) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) w.unref();
      if (msg.ok) p.resolve(msg);
      else p.reject(new PdfReaderError(msg.name ?? 'Error', msg.message ?? 'unknown error'));
    });
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(new PdfReaderError('ReaderStopped', `the PDF reader stopped (${e.message})`));
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit code ${code}`)));
    return w;
  }

  request<T>(msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<T> {
    const w = (this.worker ??= this.start());
    const id = this.nextId++;
    if (this.pending.size === 0) w.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.postMessage({ ...msg, id }, transfer);
    });
  }
}

const reader = new PdfReader();

export interface OpenPdf {
  title: string | null;
  pages: number;
  page(n: number): Promise<PdfTextItem[]>;
  /** page `n` rendered as PNG at `scale` pixels per PDF point */
  render(n: number, scale: number): Promise<Buffer>;
  close(): Promise<void>;
}

/** Open a PDF in the reader thread; `bytes` is transferred (the caller must not use it again). */
export async function openPdf(bytes: Uint8Array): Promise<OpenPdf> {
  const opened = await reader.request<{ docId: number; title: string | null; pages: number }>({ op: 'open', data: bytes }, [bytes.buffer as ArrayBuffer]);
  let closed = false;
  return {
    title: opened.title,
    pages: opened.pages,
    page: async (n) => (await reader.request<{ items: PdfTextItem[] }>({ op: 'page', docId: opened.docId, n })).items,
    render: async (n, scale) => Buffer.from((await reader.request<{ data: Uint8Array }>({ op: 'render', docId: opened.docId, n, scale })).data.buffer),
    close: async () => {
      if (closed) return;
      closed = true;
      await reader.request({ op: 'close', docId: opened.docId }).catch(() => undefined);
    },
  };
}
