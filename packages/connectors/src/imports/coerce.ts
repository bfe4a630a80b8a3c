import { CellInputError, TesseraError, typeFromSpec, validateValue, type ExportRow, type TypeSpec } from '@tessera/core';

export interface ImportColumn {
  name: string;
  type: TypeSpec;
}

/** A file that does not fit the table: names the file, the row and the column. */
export class ImportError extends TesseraError {
  constructor(file: string, problem: string, details: Record<string, unknown> = {}) {
    super('E_IMPORT', `import ${file}: ${problem}`, { file, ...details });
    this.name = 'ImportError';
  }
}

/** Reader-specific shapes (bigints, typed arrays, Arrow vectors) as the plain values the type checks expect. */
export function plain(v: unknown): unknown {
  if (v === undefined) return null;
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<unknown>, plain);
  if (v !== null && typeof v === 'object' && typeof (v as { toArray?: unknown }).toArray === 'function' && !(v instanceof Date)) {
    return Array.from((v as { toArray(): ArrayLike<unknown> }).toArray(), plain);
  }
  if (Array.isArray(v)) return v.some((x) => typeof x === 'bigint' || ArrayBuffer.isView(x)) ? v.map(plain) : v;
  return v;
}

/** Checks a file's columns against the table, then converts each row; the first value that does not fit stops the import. */
export class RowCoercer {
  private readonly types;

  constructor(
    private readonly file: string,
    private readonly columns: ImportColumn[],
  ) {
    this.types = columns.map((c) => typeFromSpec(c.type));
  }

  /** Columns the table needs that the file lacks (nullable ones are filled with null). */
  checkHeader(fileColumns: string[]): void {
    const have = new Set(fileColumns);
    for (const c of this.columns) {
      if (!have.has(c.name) && (!c.type.nullable || c.type.primaryKey)) {
        throw new ImportError(this.file, `column ${c.name} is missing (the file has ${fileColumns.join(', ') || 'no columns'})`, { column: c.name });
      }
    }
  }

  row(raw: Record<string, unknown>, index: number): ExportRow {
    const out: ExportRow = {};
    this.columns.forEach((c, i) => {
      const v = plain(raw[c.name]);
      if (v === null) {
        if (!c.type.nullable || c.type.primaryKey)
          throw new ImportError(this.file, `row ${index + 1}: column ${c.name} is null but the column is not nullable`, { column: c.name, row: index + 1 });
        out[c.name] = null;
        return;
      }
      try {
        const value = c.type.kind === 'json' && typeof v === 'string' ? parseJson(v) : v;
        out[c.name] = validateValue(c.name, this.types[i]!, value);
      } catch (err) {
        if (err instanceof CellInputError) throw new ImportError(this.file, `row ${index + 1}: ${err.message}`, { column: c.name, row: index + 1 });
        throw err;
      }
    });
    return out;
  }
}

function parseJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
