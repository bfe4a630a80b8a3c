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
  constructor(message: string, details: Record<string, unknown> = {}) {
    super('E_CELL_INPUT', message, details);
    this.name = 'CellInputError';
  }
}

/** A transient failure (network, 429, 5xx): the job retries with backoff. */
export class TransientError extends TesseraError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super('E_TRANSIENT', message, retryAfterMs === undefined ? {} : { retryAfterMs });
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
