import { readFile } from 'node:fs/promises';
import { csvObjects } from '@tessera/connectors';

export type RowFormat = 'json' | 'jsonl' | 'csv';

/** Read rows from a file or stdin (`-`) as JSON (an array), JSON Lines or CSV with a header line. */
export async function readRows(source: string, format?: RowFormat): Promise<Record<string, unknown>[]> {
  const text =
    source === '-'
      ? await readStdin()
      : await readFile(source, 'utf8').catch((e: Error) => {
          throw new Error(`cannot read ${source}: ${e.message}`);
        });
  const fmt = format ?? guessFormat(source, text);
  if (fmt === 'csv') {
    // the reader `tessera import` uses: an unquoted empty field is null, a quoted one ("") the empty string
    const rows: Record<string, unknown>[] = [];
    try {
      for await (const r of csvObjects([text])) rows.push(r);
    } catch (e) {
      throw new Error(`${source}: ${(e as Error).message}`);
    }
    return rows;
  }
  if (fmt === 'jsonl') {
    return text
      .split('\n')
      .map((l, i) => [l.trim(), i] as const)
      .filter(([l]) => l)
      .map(([l, i]) => {
        try {
          return JSON.parse(l);
        } catch (e) {
          throw new Error(`${source} line ${i + 1}: not valid JSON (${(e as Error).message})`);
        }
      });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not valid JSON (${(e as Error).message}); use --format jsonl for JSON Lines`);
  }
  return Array.isArray(parsed) ? parsed : [parsed as Record<string, unknown>];
}

function guessFormat(source: string, text: string): RowFormat {
  if (source.endsWith('.csv')) return 'csv';
  if (source.endsWith('.jsonl') || source.endsWith('.ndjson')) return 'jsonl';
  if (source.endsWith('.json')) return 'json';
  const first = text.trimStart()[0];
  if (first === '[') return 'json';
  if (first === '{') return text.trim().split('\n').length > 1 ? 'jsonl' : 'json';
  return 'csv';
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
