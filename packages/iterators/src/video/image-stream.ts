/**
 * Splits ffmpeg's image2pipe output (concatenated PNG or JPEG files) into one Buffer per image,
 * without copying the stream more than once: chunks are kept as a list and joined per image.
 */
export interface ImageSplitter {
  push(chunk: Buffer): Buffer[];
  /** bytes received that do not yet form a whole image */
  readonly pending: number;
}

class ChunkList {
  parts: Buffer[] = [];
  length = 0;
  push(b: Buffer) {
    this.parts.push(b);
    this.length += b.length;
  }
  byteAt(offset: number): number {
    for (const p of this.parts) {
      if (offset < p.length) return p[offset]!;
      offset -= p.length;
    }
    throw new RangeError('offset beyond buffered data');
  }
  uint32At(offset: number): number {
    return ((this.byteAt(offset) << 24) | (this.byteAt(offset + 1) << 16) | (this.byteAt(offset + 2) << 8) | this.byteAt(offset + 3)) >>> 0;
  }
  /** remove and return the first `n` bytes */
  take(n: number): Buffer {
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length);
    const head = all.subarray(0, n);
    const rest = all.subarray(n);
    this.parts = rest.length ? [rest] : [];
    this.length = rest.length;
    return head;
  }
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IEND = 0x49454e44;

/** PNG: signature, then length/type/data/crc chunks up to IEND. */
export function pngSplitter(): ImageSplitter {
  const buf = new ChunkList();
  let cursor = 8; // next chunk header within the current image
  let ended = false;
  return {
    get pending() {
      return buf.length;
    },
    push(chunk) {
      buf.push(chunk);
      const out: Buffer[] = [];
      for (;;) {
        if (!ended) {
          if (buf.length < cursor + 8) break;
          if (cursor === 8) {
            for (let i = 0; i < 8; i++) if (buf.byteAt(i) !== PNG_SIG[i]) throw new Error('ffmpeg output is not a PNG stream');
          }
          const len = buf.uint32At(cursor);
          const type = buf.uint32At(cursor + 4);
          cursor += 12 + len;
          if (type === IEND) ended = true;
          continue;
        }
        if (buf.length < cursor) break;
        out.push(buf.take(cursor));
        cursor = 8;
        ended = false;
      }
      return out;
    },
  };
}

/**
 * JPEG: SOI, length-prefixed segments up to SOS, then entropy-coded data in which 0xFF is always
 * followed by 0x00 or a restart marker, so the first other marker after SOS is EOI.
 */
export function jpegSplitter(): ImageSplitter {
  const buf = new ChunkList();
  let cursor = 2; // after SOI
  let inScan = false;
  return {
    get pending() {
      return buf.length;
    },
    push(chunk) {
      buf.push(chunk);
      const out: Buffer[] = [];
      for (;;) {
        if (!inScan) {
          if (buf.length < cursor + 4) break;
          if (cursor === 2 && (buf.byteAt(0) !== 0xff || buf.byteAt(1) !== 0xd8)) throw new Error('ffmpeg output is not a JPEG stream');
          if (buf.byteAt(cursor) !== 0xff) throw new Error('malformed JPEG segment in ffmpeg output');
          const marker = buf.byteAt(cursor + 1);
          const len = (buf.byteAt(cursor + 2) << 8) | buf.byteAt(cursor + 3);
          cursor += 2 + len;
          if (marker === 0xda) inScan = true;
          continue;
        }
        let found = -1;
        // scan the entropy-coded data for the first marker that is not stuffing or a restart
        let offset = 0;
        for (const p of buf.parts) {
          const from = Math.max(cursor - offset, 0);
          for (let i = from; i < p.length; i++) {
            if (p[i] !== 0xff) continue;
            const next = i + 1 < p.length ? p[i + 1] : undefined;
            const nextByte = next ?? (offset + i + 1 < buf.length ? buf.byteAt(offset + i + 1) : undefined);
            if (nextByte === undefined) break;
            if (nextByte === 0x00 || (nextByte >= 0xd0 && nextByte <= 0xd7) || nextByte === 0xff) continue;
            found = offset + i;
            break;
          }
          if (found >= 0) break;
          offset += p.length;
        }
        if (found < 0) {
          cursor = Math.max(cursor, buf.length - 1);
          break;
        }
        if (buf.byteAt(found + 1) !== 0xd9) throw new Error('unexpected marker in JPEG scan data');
        out.push(buf.take(found + 2));
        cursor = 2;
        inScan = false;
      }
      return out;
    },
  };
}
