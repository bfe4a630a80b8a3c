import type { z } from 'zod';

/** The kinds of value a column can hold. Media kinds hold a reference (URL or path), never bytes. */
export type Kind = 'string' | 'int' | 'float' | 'bool' | 'timestamp' | 'json' | 'array' | 'image' | 'video' | 'audio' | 'document';

export const MEDIA_KINDS: readonly Kind[] = ['image', 'video', 'audio', 'document'];
export const isMediaKind = (k: Kind): boolean => MEDIA_KINDS.includes(k);

export type ArrayElement = 'float' | 'int' | 'string' | 'bool';

/** The serialisable description of a column type, as stored in the catalog. */
export interface TypeSpec {
  kind: Kind;
  nullable: boolean;
  primaryKey: boolean;
  /** arrays: element type and, for embeddings, fixed length */
  element?: ArrayElement;
  dim?: number;
  /** media columns: where generated media is written (overrides the project default) */
  destination?: string;
}

/**
 * What a write must carry for a column: `key` (the primary key: always), `required` (a value, never
 * null) or `optional` (nullable: may be left out or null). Typed writes are checked against it.
 */
export type Presence = 'key' | 'required' | 'optional';

/**
 * A column type builder, in the spirit of Drizzle: chained calls, and phantoms that carry the
 * TypeScript value type `T` to the expressions and UDFs that use the column, and its `Presence`
 * `P` to the rows a typed client writes.
 */
export class ColumnType<K extends Kind = Kind, T = unknown, P extends Presence = Presence> {
  declare readonly _value: T;
  declare readonly _presence: P;
  constructor(
    readonly spec: TypeSpec & { kind: K },
    /** optional zod schema a json column's values must satisfy */
    readonly schema?: z.ZodType,
  ) {}

  nullable(): ColumnType<K, T | null, 'optional'> {
    return new ColumnType<K, T | null, 'optional'>({ ...this.spec, nullable: true }, this.schema);
  }

  primaryKey(): ColumnType<K, Exclude<T, null>, 'key'> {
    return new ColumnType<K, Exclude<T, null>, 'key'>({ ...this.spec, primaryKey: true, nullable: false }, this.schema);
  }

  /** Media columns: where media generated into this column is written (file://, s3://, gs://, az://). */
  destination(url: string): ColumnType<K, T, P> {
    return new ColumnType<K, T, P>({ ...this.spec, destination: url }, this.schema);
  }

  toString(): string {
    return describeType(this.spec);
  }
}

export function describeType(spec: TypeSpec): string {
  const base = spec.kind === 'array' ? `array<${spec.element ?? 'float'}>${spec.dim === undefined ? '' : `[${spec.dim}]`}` : spec.kind;
  return spec.nullable ? `${base}?` : base;
}

/** A reference to a media object: `file://`, `s3://`, `gs://`, `az://`, `https://` or a local path. */
export type MediaRef = string;

const make = <K extends Kind, T>(kind: K, extra: Partial<TypeSpec> = {}, schema?: z.ZodType) =>
  new ColumnType<K, T, 'required'>({ kind, nullable: false, primaryKey: false, ...extra } as TypeSpec & { kind: K }, schema);

type ElementValue<E extends ArrayElement> = E extends 'float' | 'int' ? number : E extends 'bool' ? boolean : string;

/** The schema DSL: `t.string()`, `t.embedding(384)`, `t.json(zodSchema)`, `t.video()`... */
export const t = {
  string: () => make<'string', string>('string'),
  int: () => make<'int', number>('int'),
  float: () => make<'float', number>('float'),
  bool: () => make<'bool', boolean>('bool'),
  timestamp: () => make<'timestamp', Date>('timestamp'),
  json: <S extends z.ZodType = z.ZodType<unknown>>(schema?: S) => make<'json', z.infer<S>>('json', {}, schema),
  array: <E extends ArrayElement = 'float'>(element?: E, dim?: number) =>
    make<'array', ElementValue<E>[]>('array', { element: element ?? 'float', ...(dim === undefined ? {} : { dim }) }),
  embedding: (dim: number) => make<'array', number[]>('array', { element: 'float', dim }),
  image: () => make<'image', MediaRef>('image'),
  video: () => make<'video', MediaRef>('video'),
  audio: () => make<'audio', MediaRef>('audio'),
  document: () => make<'document', MediaRef>('document'),
};

/** Rebuild a ColumnType from its stored spec (json schemas are not stored; they live in code). */
export function typeFromSpec(spec: TypeSpec): ColumnType {
  return new ColumnType(spec);
}

/** Can a value of type `from` be passed where `to` is expected? */
export function isAssignable(from: TypeSpec, to: TypeSpec): boolean {
  if (from.kind !== to.kind) return from.kind === 'int' && to.kind === 'float';
  if (from.kind === 'array') {
    if ((from.element ?? 'float') !== (to.element ?? 'float')) return false;
    if (to.dim !== undefined && from.dim !== to.dim) return false;
  }
  return true;
}
