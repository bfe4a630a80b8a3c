/** Plain-text tables and progress bars for the terminal. */
export function formatTable(rows: Record<string, unknown>[], columns?: string[]): string {
  if (!rows.length) return '(no rows)';
  const cols = columns ?? [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (v instanceof Date) return v.toISOString();
    const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  };
  const data = rows.map((r) => cols.map((c) => cell(r[c]).replace(/\s+/g, ' ')));
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i]!.length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(cols), line(widths.map((w) => '-'.repeat(w))), ...data.map(line)].join('\n');
}

export function progressBar(done: number, failed: number, total: number, width = 30): string {
  if (total === 0) return `[${' '.repeat(width)}]   -`;
  const d = Math.round((done / total) * width);
  const f = Math.min(width - d, Math.round((failed / total) * width));
  const pct = Math.floor(((done + failed) / total) * 100);
  return `[${'#'.repeat(d)}${'x'.repeat(f)}${'.'.repeat(width - d - f)}] ${String(pct).padStart(3)}%`;
}

/**
 * A model column's usage, cumulative: requests made, tokens the responses reported, 429s, calls that
 * waited in their job for a rate-limit slot, times a job went back to its queue to wait for the
 * limiter, answers taken from the response cache.
 */
export function formatUsage(u: Record<string, number> = {}): string {
  const n = (k: string) => u[k] ?? 0;
  return [
    `calls ${n('calls')}`,
    `tokens ${n('tokens')}`,
    `429s ${n('429s')}`,
    `waited ${n('limiterWaits')}`,
    `requeued ${n('limiterRequeues')}`,
    `cached ${n('cacheHits')}`,
  ].join(', ');
}

/**
 * Text wrapped at spaces to `width` columns, each line prefixed by `indent`. Nothing is ever cut: a
 * word longer than the width (a path, a URL) gets a line of its own, whole, and the message's own
 * line breaks are kept. Without a width, each line of the text is printed as it is.
 */
export function wrapText(text: string, width: number | undefined, indent = ''): string {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    if (!width || indent.length + para.length <= width) {
      out.push(indent + para);
      continue;
    }
    let line = '';
    for (const word of para.split(' ')) {
      if (line && indent.length + line.length + 1 + word.length > width) {
        out.push(indent + line);
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push(indent + line);
  }
  return out.join('\n');
}

export interface CellErrorLine {
  column: string;
  key: Record<string, unknown>;
  errortype: string | null;
  errormsg: string | null;
}

/** Failed cells, one block each: column, row key and error type on a line, then the whole message below it. */
export function formatErrors(errors: CellErrorLine[], width?: number): string {
  return errors
    .map((e) => `${e.column}  ${JSON.stringify(e.key)}  ${e.errortype ?? 'Error'}\n${wrapText(e.errormsg ?? '(no message)', width, '    ')}`)
    .join('\n\n');
}
