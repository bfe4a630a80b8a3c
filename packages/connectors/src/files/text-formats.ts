import type { ExportRow } from '@tessera/core';
import { plainValue, type FileColumn, type FileFormat } from './file-format';

/** One JSON object per line, columns in schema order. */
export const jsonlFormat: FileFormat = {
  name: 'jsonl',
  extension: 'jsonl',
  contentType: 'application/x-ndjson',
  async encode(columns: FileColumn[], rows: ExportRow[]): Promise<Buffer> {
    const lines = rows.map((r) => JSON.stringify(Object.fromEntries(columns.map((c) => [c.name, plainValue(r[c.name])]))));
    return Buffer.from(lines.length ? `${lines.join('\n')}\n` : '');
  },
};

/**
 * RFC 4180: quoted when needed; JSON and arrays as JSON text, timestamps ISO 8601, null as an empty field.
 * Text that a spreadsheet would run as a formula (starting with = + - @, tab or carriage return) is
 * prefixed with a single quote (OWASP's CSV injection advice): exported data is untrusted input.
 */
export function csvField(v: unknown): string {
  const p = plainValue(v);
  if (p === null) return '';
  let s = typeof p === 'object' ? JSON.stringify(p) : String(p);
  if (typeof p === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) || s === '' ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvFormat: FileFormat = {
  name: 'csv',
  extension: 'csv',
  contentType: 'text/csv',
  async encode(columns: FileColumn[], rows: ExportRow[]): Promise<Buffer> {
    const lines = [columns.map((c) => csvField(c.name)).join(',')];
    for (const r of rows) lines.push(columns.map((c) => csvField(r[c.name])).join(','));
    return Buffer.from(`${lines.join('\r\n')}\r\n`);
  },
};
