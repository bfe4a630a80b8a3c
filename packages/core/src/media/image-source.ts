import { open, readFile } from 'node:fs/promises';

/**
 * What to hand sharp (libvips) for an image file a producer supplied: its path, except for an SVG,
 * which is given as bytes. Read from a path, librsvg loads the images an SVG names relative to its
 * directory (`<image href="other.png">`): in the media cache, that is other rows' downloads. From
 * bytes it has no directory, and draws nothing for such a reference.
 */
export async function imageSource(file: string): Promise<string | Buffer> {
  const head = Buffer.alloc(512);
  const handle = await open(file, 'r');
  let read: number;
  try {
    ({ bytesRead: read } = await handle.read(head, 0, head.length, 0));
  } finally {
    await handle.close();
  }
  // raster formats start with a binary signature; SVG (and gzipped SVGZ) with XML text or gzip's magic
  const text = head
    .subarray(0, read)
    .toString('latin1')
    .replace(/^\xEF\xBB\xBF/, '') // a UTF-8 byte-order mark, read as latin1
    .trimStart();
  const svgLike = text.startsWith('<') || (head[0] === 0x1f && head[1] === 0x8b);
  return svgLike ? readFile(file) : file;
}
