/**
 * What the system does with a failure. Every package sorts its errors into these, by code:
 * - `transient`: try again later (network, 429, 5xx, the rate gate, a target restarting); the job retries.
 * - `cell`: bad input to one item (a cell's value, a written row, an imported file); that item fails, never retried.
 * - `config`: the setup is wrong (configuration, a pipeline definition, an export target's shape); a person must act.
 * - `skew`: work refused by a worker running other pipeline code (a UDF version it does not have).
 */
export type ErrorCategory = 'transient' | 'cell' | 'config' | 'skew';

/**
 * The category of every stable code. Codes, not class names, cross process and package boundaries:
 * an error that went through BullMQ or came from another copy of a package is still sorted right.
 * A code not listed here (a run superseded, an unknown table...) has no category: callers treat it as
 * an ordinary failure.
 */
export const ERROR_CATEGORIES: Readonly<Record<string, ErrorCategory>> = {
  E_TRANSIENT: 'transient',
  E_PROVIDER_RATE_LIMIT: 'transient',
  E_RATE_LIMITED: 'transient',
  // a row's media could not be read for a reason worth retrying; on a job's last attempt, its cell's error
  E_MEDIA_UNREACHABLE: 'transient',
  E_CELL_INPUT: 'cell',
  E_MEDIA_REFUSED: 'cell',
  E_IMPORT: 'cell',
  E_BAD_ROW: 'cell',
  E_LIMIT: 'cell',
  E_CONFIG: 'config',
  E_PIPELINE_DEFINITION: 'config',
  E_EXPORT_SCHEMA: 'config',
  E_UDF_VERSION: 'config',
  // an export whose ships kept killing the worker process (see the store's ship-deaths)
  E_WORKER_DIED: 'config',
  E_CODE_SKEW: 'skew',
};

/** Class names of errors made before they carried codes, for errors that arrive as plain objects with a name only. */
const CODE_OF_NAME: Readonly<Record<string, string>> = {
  TransientError: 'E_TRANSIENT',
  ProviderRateLimitError: 'E_PROVIDER_RATE_LIMIT',
  RateLimitedError: 'E_RATE_LIMITED',
  CellInputError: 'E_CELL_INPUT',
  MediaRefusedError: 'E_MEDIA_REFUSED',
  ImportError: 'E_IMPORT',
  ConfigError: 'E_CONFIG',
  PipelineDefinitionError: 'E_PIPELINE_DEFINITION',
  ExportSchemaMismatch: 'E_EXPORT_SCHEMA',
  UdfVersionError: 'E_CODE_SKEW',
};

/**
 * The stable code of any error-shaped value: a TesseraError's own, the `code` of a plain object that
 * crossed a queue or comes from another copy of core, or the code its class name stands for. Other
 * codes (a driver's SQLSTATE, an errno) are returned as they are.
 */
export function codeOf(e: unknown): string | undefined {
  if (!e || typeof e !== 'object') return undefined;
  const { code, name } = e as { code?: unknown; name?: unknown };
  if (typeof code === 'string' && code) return code;
  return typeof name === 'string' ? CODE_OF_NAME[name] : undefined;
}

/**
 * The category of an error (see ErrorCategory), read from its code, so that copies and plain objects
 * count; an error whose code is not Tessera's (a driver's) is sorted by its class name.
 */
export function categoryOf(e: unknown): ErrorCategory | undefined {
  const code = codeOf(e);
  const byCode = code === undefined ? undefined : ERROR_CATEGORIES[code];
  if (byCode || !e || typeof e !== 'object') return byCode;
  const name = (e as { name?: unknown }).name;
  const named = typeof name === 'string' ? CODE_OF_NAME[name] : undefined;
  return named === undefined ? undefined : ERROR_CATEGORIES[named];
}

/** Every error Tessera raises on purpose carries a stable code and says where it happened. */
export class TesseraError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'TesseraError';
  }

  get category(): ErrorCategory | undefined {
    return ERROR_CATEGORIES[this.code];
  }
}

/** A pipeline definition that cannot be applied (unknown column, type mismatch, cycle...). */
export class PipelineDefinitionError extends TesseraError {
  constructor(
    readonly where: { pipeline: string; table?: string; column?: string },
    problem: string,
  ) {
    const path = [where.pipeline, where.table, where.column].filter(Boolean).join('.');
    super('E_PIPELINE_DEFINITION', `pipeline ${path}: ${problem}`, where);
    this.name = 'PipelineDefinitionError';
  }
}

/** Bad input to a single cell (corrupt file, wrong shape). It fails that cell only, and is never retried. */
export class CellInputError extends TesseraError {
  constructor(message: string, details: Record<string, unknown> = {}, code = 'E_CELL_INPUT') {
    super(code, message, details);
    this.name = 'CellInputError';
  }
}

/** A transient failure (network, 429, 5xx): the job retries with backoff. */
export class TransientError extends TesseraError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    code = 'E_TRANSIENT',
  ) {
    super(code, message, retryAfterMs === undefined ? {} : { retryAfterMs });
    this.name = 'TransientError';
  }
}

/** Configuration that cannot be used; raised at start, before any work. */
export class ConfigError extends TesseraError {
  constructor(message: string) {
    super('E_CONFIG', message);
    this.name = 'ConfigError';
  }
}

/** A job that needs a UDF version this worker's pipeline code does not have (a deploy in progress). */
export class UdfVersionError extends TesseraError {
  constructor(readonly udf: string) {
    super('E_CODE_SKEW', `this worker has no UDF ${udf}`, { udf });
    this.name = 'UdfVersionError';
  }
}

/** Is this error one the job should retry (or wait out) rather than record? Works across package copies. */
export const isTransient = (e: unknown): boolean => categoryOf(e) === 'transient';
