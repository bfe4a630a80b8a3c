import type { Relation } from './relation';

/** How many bytes of text, JSON and arrays a batch, an iteration or an export chunk reads at most (TESSERA_BATCH_BYTES). */
export const DEFAULT_BATCH_BYTES = 16 * 1024 * 1024;

/**
 * The SQL adding up a row's text, JSON and arrays among `read` as Postgres stores them, without
 * reading them (`octet_length` of text is its header's length, uncompressed; `pg_column_size` the
 * stored size): what bounds a batch or an export chunk by bytes as well as rows. Null when the
 * columns read hold none: no window to pay for.
 */
export function storedSize(rel: Relation, read: string[]): string | null {
  const parts = read.flatMap((n) => {
    // scalars are fixed-width and media references at most 8,192 characters: a batch of them stays small
    const kind = rel.column(n)?.type.kind;
    if (kind !== 'string' && kind !== 'json' && kind !== 'array') return [];
    return [`coalesce(${kind === 'string' ? 'octet_length' : 'pg_column_size'}(${rel.col(n)}), 0)`];
  });
  return parts.length ? parts.join(' + ') : null;
}
