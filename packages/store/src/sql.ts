import type { TypeSpec } from '@tessera/core';

/** Quote an identifier. Names are validated by core before they get here; quoting is the second guard. */
export const ident = (name: string): string => `"${name.replace(/"/g, '""')}"`;

/** Postgres type of a column's value. Media columns hold references (text). */
export function pgType(spec: TypeSpec): string {
  switch (spec.kind) {
    case 'string':
      return 'text';
    case 'int':
      return 'bigint';
    case 'float':
      return 'double precision';
    case 'bool':
      return 'boolean';
    case 'timestamp':
      return 'timestamptz';
    case 'json':
      return 'jsonb';
    case 'array': {
      const el = spec.element ?? 'float';
      return el === 'float' ? 'real[]' : el === 'int' ? 'bigint[]' : el === 'bool' ? 'boolean[]' : 'text[]';
    }
    default:
      return 'text';
  }
}

/** Physical columns of a computed column: its value, its status, and its error cell. */
export const statusCol = (c: string) => `${c}__s`;
export const errTypeCol = (c: string) => `${c}__errortype`;
export const errMsgCol = (c: string) => `${c}__errormsg`;

/** Cell status values (null = pending). */
export const CELL_OK = 1;
export const CELL_ERROR = 2;
