import { TesseraError } from '@tessera/core';

/** The export target exists but does not fit the exported columns; the message names the target and the column. */
export class ExportSchemaMismatch extends TesseraError {
  constructor(target: string, problem: string, details: Record<string, unknown> = {}) {
    super('E_EXPORT_SCHEMA', `export target ${target} does not fit: ${problem}`, { target, ...details });
    this.name = 'ExportSchemaMismatch';
  }
}
