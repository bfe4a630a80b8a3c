import { categoryOf } from '@tessera/core';

/** Postgres SQLSTATEs a retry cannot fix: privileges, missing table/column/schema, wrong types. */
const PG_STUCK = /^(42501|42P01|42703|42804|42P10|3F000)$/;
/** The same for MySQL/MariaDB (mysql2's names). */
const MY_STUCK = new Set([
  'ER_TABLEACCESS_DENIED_ERROR',
  'ER_COLUMNACCESS_DENIED_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_ERROR',
  'ER_SPECIFIC_ACCESS_DENIED_ERROR',
  'ER_BAD_FIELD_ERROR',
  'ER_NO_SUCH_TABLE',
  'ER_BAD_DB_ERROR',
]);

/**
 * Does this export failure need a person (the target's shape or the sink's rights), rather than a
 * retry? Such an export is shown as stuck with the error as its reason; retrying the job soon would
 * only fail again, so the next ship (a later version, `tessera export --full`, a reconcile) tries
 * again, in full. Schema mismatches (`E_EXPORT_SCHEMA`) and configuration errors count too.
 */
export function isExportStuck(err: unknown): boolean {
  const code = (err as { code?: unknown })?.code;
  if (categoryOf(err) === 'config') return true;
  return typeof code === 'string' && (PG_STUCK.test(code) || MY_STUCK.has(code));
}
