/**
 * Postgres binary COPY: the fastest way to hand rows to the server, and no text parsing on either side
 * (an embedding goes as 4 bytes a float instead of ~20 characters). Format: PGCOPY header, per row a
 * field count and length-prefixed fields in each type's binary send format, then a -1 trailer.
 */
export class CopyWriter {
  private buf = Buffer.allocUnsafe(1 << 20);
  private pos = 0;

  static header(): Buffer {
    const h = Buffer.alloc(19);
    h.write('PGCOPY\n\xff\r\n\0', 0, 'latin1');
    return h; // flags and header-extension length: both zero
  }

  static trailer(): Buffer {
    return Buffer.from([0xff, 0xff]);
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far; the writer starts over. */
  take(): Buffer {
    const out = Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int16(v: number): void {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
  }

  int32(v: number): void {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
  }

  null(): void {
    this.int32(-1);
  }

  /** A field of fixed size: length prefix, then `write` fills exactly `size` bytes. */
  fixed(size: number, write: (buf: Buffer, at: number) => void): void {
    this.ensure(4 + size);
    this.buf.writeInt32BE(size, this.pos);
    write(this.buf, this.pos + 4);
    this.pos += 4 + size;
  }

  text(s: string, prefix?: number): void {
    const len = Buffer.byteLength(s, 'utf8') + (prefix === undefined ? 0 : 1);
    this.ensure(4 + len);
    this.pos = this.buf.writeInt32BE(len, this.pos);
    if (prefix !== undefined) this.buf[this.pos++] = prefix;
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Start a variable-length field; returns a function that patches its length when done. */
  begin(): () => void {
    this.ensure(4);
    const at = this.pos;
    this.pos += 4;
    return () => this.buf.writeInt32BE(this.pos - at - 4, at);
  }

  raw(n: number, write: (buf: Buffer, at: number) => void): void {
    this.ensure(n);
    write(this.buf, this.pos);
    this.pos += n;
  }
}

export const OID = { bool: 16, int8: 20, text: 25, float4: 700 } as const;

/** Microseconds between the Unix epoch and Postgres's (2000-01-01). */
const PG_EPOCH_MS = 946_684_800_000;

export function timestampField(w: CopyWriter, d: Date): void {
  const us = BigInt(Math.round((d.getTime() - PG_EPOCH_MS) * 1000));
  w.fixed(8, (b, at) => b.writeBigInt64BE(us, at));
}

/** A one-dimensional array in binary form: header, then each element length-prefixed. */
export function arrayField(w: CopyWriter, elemOid: number, items: ArrayLike<unknown>, element: (w: CopyWriter, v: unknown) => void): void {
  const end = w.begin();
  let hasNull = 0;
  for (let i = 0; i < items.length; i++) if (items[i] === null || items[i] === undefined) hasNull = 1;
  if (items.length === 0) {
    w.int32(0);
    w.int32(0);
    w.int32(elemOid);
  } else {
    w.int32(1);
    w.int32(hasNull);
    w.int32(elemOid);
    w.int32(items.length);
    w.int32(1);
    for (let i = 0; i < items.length; i++) {
      const v = items[i];
      if (v === null || v === undefined) w.null();
      else element(w, v);
    }
  }
  end();
}

/** float4[] without per-element callbacks: the hot path for embeddings. */
export function float4ArrayField(w: CopyWriter, items: ArrayLike<number>): void {
  const n = items.length;
  if (n === 0) return arrayField(w, OID.float4, items, () => undefined);
  const size = 20 + n * 8;
  w.fixed(size, (b, at) => {
    b.writeInt32BE(1, at);
    b.writeInt32BE(0, at + 4);
    b.writeInt32BE(OID.float4, at + 8);
    b.writeInt32BE(n, at + 12);
    b.writeInt32BE(1, at + 16);
    let p = at + 20;
    for (let i = 0; i < n; i++) {
      b.writeInt32BE(4, p);
      b.writeFloatBE(+items[i]!, p + 4);
      p += 8;
    }
  });
}

/** pgvector's binary form: int16 dimensions, int16 unused, then float4s. */
export function vectorField(w: CopyWriter, items: ArrayLike<number>): void {
  const n = items.length;
  w.fixed(4 + n * 4, (b, at) => {
    b.writeInt16BE(n, at);
    b.writeInt16BE(0, at + 2);
    let p = at + 4;
    for (let i = 0; i < n; i++, p += 4) b.writeFloatBE(+items[i]!, p);
  });
}
