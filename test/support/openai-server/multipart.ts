/** A minimal multipart/form-data reader (enough for the audio upload the SDK sends). */
export interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
}

export function parseMultipart(body: Buffer, contentType: string): Part[] {
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  if (!m) throw new Error('multipart body without boundary');
  const delim = Buffer.from(`--${m[1] ?? m[2]}`);
  const parts: Part[] = [];
  let pos = body.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (body.subarray(start, start + 2).toString() === '--') break;
    const next = body.indexOf(delim, start);
    if (next < 0) break;
    const chunk = body.subarray(start + 2, next - 2); // skip CRLF after delimiter and before the next one
    const headEnd = chunk.indexOf('\r\n\r\n');
    const head = chunk.subarray(0, headEnd).toString('utf8');
    const line = /content-disposition:([^\r\n]*)/i.exec(head)?.[1] ?? '';
    const name = /(?:^|;)\s*name="([^"]*)"/i.exec(line)?.[1];
    const filename = /(?:^|;)\s*filename="([^"]*)"/i.exec(line)?.[1];
    const ctype = /content-type: *([^\r\n]+)/i.exec(head);
    parts.push({
      name: name ?? '',
      ...(filename !== undefined ? { filename } : {}),
      ...(ctype ? { contentType: ctype[1]!.trim() } : {}),
      data: chunk.subarray(headEnd + 4),
    });
    pos = next;
  }
  return parts;
}
