import { TesseraError } from './errors';

/**
 * Names of pipelines, tables and columns become SQL identifiers and queue names, so they are
 * restricted to a safe alphabet. Double underscores are reserved for Tessera's own columns.
 */
const NAME = /^[a-z][a-z0-9_]{0,39}$/;
const PIPELINE_NAME = /^[a-z][a-z0-9-]{0,19}$/;

export function checkName(what: 'table' | 'column' | 'view', name: string): string {
  if (!NAME.test(name) || name.includes('__')) {
    throw new TesseraError(
      'E_NAME',
      `invalid ${what} name ${JSON.stringify(name)}: use lowercase letters, digits and single underscores, starting with a letter, at most 40 characters`,
    );
  }
  return name;
}

export function checkPipelineName(name: string): string {
  if (!PIPELINE_NAME.test(name)) {
    throw new TesseraError(
      'E_NAME',
      `invalid pipeline name ${JSON.stringify(name)}: use lowercase letters, digits and hyphens, starting with a letter, at most 20 characters`,
    );
  }
  return name;
}
