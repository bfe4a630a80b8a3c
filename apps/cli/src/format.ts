import type { ExportState } from '@tessera/store';
/**
 * Characters a terminal acts on rather than shows: C0 controls (ESC starts escape sequences that
 * can move the cursor, rewrite the screen or set the title), DEL, C1 controls (0x9b is a one-byte
 * CSI) and bidirectional overrides that make text read differently than it is stored.
 */
const TERMINAL_UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Data as text safe to print: every terminal-active character shown as a \uXXXX escape. */
export function terminalSafe(s: string): string {
  return s.replace(TERMINAL_UNSAFE, escapeChar);
}

/** JSON for the terminal: JSON.stringify escapes C0 controls; DEL, C1 and bidi overrides are escaped here (still valid JSON). */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value, null, 2).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, escapeChar);
}

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
  const data = rows.map((r) => cols.map((c) => terminalSafe(cell(r[c]).replace(/\s+/g, ' '))));
  const widths = cols.map((c, i) => Math.max(c.length, ...data.map((d) => d[i]!.length)));
  const line = (vals: string[]) =>
    vals
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
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
 * Where an export stands: stuck (with its reason and what to do), waiting for its target, or
 * shipped (with the rows held back because an exported cell is still pending).
 */
export function formatExportState(e: ExportState, pipeline: string): string {
  const held = e.held ? `, ${e.held} row(s) held until their pending cells are done` : '';
  switch (e.state) {
    case 'stuck':
      return `STUCK: ${e.reason ?? 'unknown reason'} (fix the target; the next ship re-ships every row, or now: tessera export --full ${pipeline} ${e.table} --sink ${e.sink})`;
    case 'waiting':
      return `WAITING for the target (retrying): ${e.reason ?? ''}${e.needsFull ? '; a full re-ship follows' : ''}`;
    case 'new':
      // a full ship is due: the backfill or full ship the apply started, or the fleet's reconcile
      // once none of the table's finalize jobs is left (workers whose code lacks the export skip it)
      return 'not shipped yet (a full ship follows; workers whose code lacks this export skip it until they are deployed)';
    default:
      return `ok, ship ${e.seq} at ${e.shippedAt?.toISOString() ?? '?'}${held}${e.needsFull ? '; a full re-ship is due' : ''}`;
  }
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
    .map(
      (e) =>
        `${e.column}  ${terminalSafe(JSON.stringify(e.key))}  ${e.errortype ?? 'Error'}\n${wrapText(terminalSafe(e.errormsg ?? '(no message)'), width, '    ')}`,
    )
    .join('\n\n');
}
