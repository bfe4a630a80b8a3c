import type { ExportRow } from '@tessera/core';
import type { FileColumn, FileFormat } from './file-format';
import { arrowColumn } from '../arrow/arrow-columns';
import { arrowLib } from '../sdk/modules';

/** Arrow IPC file format (Feather v2): JSON columns as strings, embeddings as list<float32>. */
export const arrowFormat: FileFormat = {
  name: 'arrow',
  extension: 'arrow',
  contentType: 'application/vnd.apache.arrow.file',
  async encode(columns: FileColumn[], rows: ExportRow[]): Promise<Buffer> {
    const arrow = await arrowLib();
    const vectors = columns.map((c) => {
      const { type, value } = arrowColumn(arrow, c.name, c.type);
      return [
        c.name,
        arrow.vectorFromArray(
          rows.map((r) => value(r[c.name])),
          type,
        ),
      ] as const;
    });
    return Buffer.from(arrow.tableToIPC(new arrow.Table(Object.fromEntries(vectors)), 'file'));
  },
};
