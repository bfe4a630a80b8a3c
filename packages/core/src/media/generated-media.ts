import { open, rm } from 'node:fs/promises';
import { CellInputError } from '../errors';
import type { MediaContext } from './media-store';

/**
 * What a UDF whose result type is media (image, video, audio, document) may return instead of a
 * reference: the bytes, or a local file it wrote. Tessera writes it to the column's destination
 * under a content-addressed key (`<sha256>.<ext>`), streaming files, with multipart/block uploads
 * for large ones, and stores the object's URL in the cell. A string is taken as a reference as it is.
 */
export type GeneratedMedia =
  | Uint8Array
  | { data: Uint8Array; extension?: string; contentType?: string }
  /** `temporary: true` removes the file once it is uploaded */
  | { file: string; extension?: string; contentType?: string; temporary?: boolean };

interface Sniffed {
  extension: string;
  contentType: string;
}

const ascii = (b: Uint8Array, at: number, s: string) => s.split('').every((ch, i) => b[at + i] === ch.charCodeAt(0));

/** The media type of some bytes, from their signature. */
export function sniffMedia(b: Uint8Array): Sniffed | undefined {
  if (b.length < 12) return undefined;
  if (b[0] === 0x89 && ascii(b, 1, 'PNG')) return { extension: 'png', contentType: 'image/png' };
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { extension: 'jpg', contentType: 'image/jpeg' };
  if (ascii(b, 0, 'GIF8')) return { extension: 'gif', contentType: 'image/gif' };
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return { extension: 'webp', contentType: 'image/webp' };
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE')) return { extension: 'wav', contentType: 'audio/wav' };
  if (ascii(b, 0, 'OggS')) return { extension: 'ogg', contentType: 'audio/ogg' };
  if (ascii(b, 0, 'fLaC')) return { extension: 'flac', contentType: 'audio/flac' };
  if (ascii(b, 0, 'ID3') || (b[0] === 0xff && (b[1]! & 0xe0) === 0xe0)) return { extension: 'mp3', contentType: 'audio/mpeg' };
  if (ascii(b, 4, 'ftyp')) return ascii(b, 8, 'M4A') ? { extension: 'm4a', contentType: 'audio/mp4' } : { extension: 'mp4', contentType: 'video/mp4' };
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return { extension: 'webm', contentType: 'video/webm' };
  if (ascii(b, 0, '%PDF-')) return { extension: 'pdf', contentType: 'application/pdf' };
  return undefined;
}

const isBytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !isBytes(v);

/** Is this result media to be written (rather than a reference, a null or something wrong)? */
export const isGeneratedMedia = (v: unknown): v is GeneratedMedia => isBytes(v) || (isObject(v) && (isBytes(v.data) || typeof v.file === 'string'));

/**
 * Write a UDF's generated media to `destination` (the column's, else the context's default) and
 * return the object's URL. Content-addressed, so a retried job writes nothing new.
 */
export async function storeGeneratedMedia(media: MediaContext, destination: string | undefined, value: GeneratedMedia, what: string): Promise<string> {
  const dest = destination || media.defaultDestination;
  if (isBytes(value) || isBytes((value as { data?: unknown }).data)) {
    const data = isBytes(value) ? value : (value as { data: Uint8Array }).data;
    const opts = isBytes(value) ? {} : (value as { extension?: string; contentType?: string });
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (buf.length === 0) throw new CellInputError(`${what}: the UDF returned empty media`);
    const type = typeOf(opts, sniffMedia(buf), what);
    return media.write(dest, buf, type);
  }
  const f = value as { file: string; extension?: string; contentType?: string; temporary?: boolean };
  let head: Uint8Array;
  try {
    const h = await open(f.file);
    try {
      const { buffer, bytesRead } = await h.read(Buffer.alloc(16), 0, 16, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await h.close();
    }
  } catch {
    throw new CellInputError(`${what}: the UDF returned the file ${f.file}, which cannot be read`);
  }
  const fromName = /\.([a-z0-9]{1,10})$/i.exec(f.file)?.[1]?.toLowerCase();
  const type = typeOf(
    { ...((f.extension ?? fromName) ? { extension: f.extension ?? fromName } : {}), ...(f.contentType ? { contentType: f.contentType } : {}) },
    sniffMedia(head),
    what,
  );
  const url = await media.write(dest, f.file, type);
  if (f.temporary) await rm(f.file, { force: true });
  return url;
}

function typeOf(given: { extension?: string; contentType?: string }, sniffed: Sniffed | undefined, what: string): { extension: string; contentType?: string } {
  const extension = given.extension?.replace(/^\./, '') ?? sniffed?.extension;
  if (!extension)
    throw new CellInputError(`${what}: cannot tell the media type of the bytes the UDF returned; return { data, extension } (or { file, extension })`);
  const contentType = given.contentType ?? (sniffed && sniffed.extension === extension ? sniffed.contentType : undefined);
  return { extension, ...(contentType ? { contentType } : {}) };
}
