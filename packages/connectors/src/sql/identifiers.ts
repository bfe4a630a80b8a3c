import { ConfigError } from '@tessera/core';

/**
 * Identifiers for the customer's database: letters, digits, underscores (and $ after the first
 * character), at most 63 characters. Checked, then quoted, so no name ever changes a statement's shape.
 */
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,62}$/;

export function checkIdentifier(what: string, name: string): string {
  if (!IDENT.test(name)) {
    throw new ConfigError(
      `invalid ${what} name ${JSON.stringify(name)}: use letters, digits and underscores, starting with a letter or underscore, at most 63 characters`,
    );
  }
  return name;
}

/** The one quoter per dialect: Postgres, MySQL/MariaDB, and LanceDB's filters (DataFusion SQL, which takes backticks). */
export const quotePg = (name: string): string => `"${checkIdentifier('identifier', name)}"`;
export const quoteMy = (name: string): string => `\`${checkIdentifier('identifier', name)}\``;
export const quoteLance = (name: string): string => `\`${checkIdentifier('identifier', name)}\``;
