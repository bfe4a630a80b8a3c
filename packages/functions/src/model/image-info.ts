/** Enough of an image's header to name its type and size, without an image library. */
export interface ImageInfo {
  mime: string;
  width?: number;
  height?: number;
}

export function sniffImage(b: Buffer): ImageInfo | undefined {
  if (b.length >= 24 && b.readUInt32BE(0) === 0x89504e47) return { mime: 'image/png', width: b.readUInt32BE(16), height: b.readUInt32BE(20) };
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) return { mime: 'image/jpeg', ...jpegSize(b) };
  if (b.length >= 10 && b.toString('ascii', 0, 3) === 'GIF') return { mime: 'image/gif', width: b.readUInt16LE(6), height: b.readUInt16LE(8) };
  if (b.length >= 12 && b.toString('ascii', 0, 4) === 'RIFF' && b.toString('ascii', 8, 12) === 'WEBP') return { mime: 'image/webp' };
  return undefined;
}

function jpegSize(b: Buffer): { width?: number; height?: number } {
  let off = 2;
  while (off + 9 < b.length) {
    if (b[off] !== 0xff) return {};
    const marker = b[off + 1]!;
    const len = b.readUInt16BE(off + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      return { height: b.readUInt16BE(off + 5), width: b.readUInt16BE(off + 7) };
    }
    off += 2 + len;
  }
  return {};
}

/** OpenAI's vision token cost: 85 base + 170 per 512px tile after scaling (high detail). */
export function visionTokens(info: ImageInfo | undefined, detail: 'low' | 'high' | 'auto' = 'auto'): number {
  if (detail === 'low') return 85;
  if (!info?.width || !info.height) return 765;
  let w = info.width;
  let h = info.height;
  const fit = Math.min(1, 2048 / Math.max(w, h));
  w *= fit;
  h *= fit;
  const short = Math.min(1, 768 / Math.min(w, h));
  w *= short;
  h *= short;
  return 85 + 170 * Math.ceil(w / 512) * Math.ceil(h / 512);
}
