import type { Row } from './rows';

/** A cell an insert leaves to its version's stage jobs (see InlineCells). */
export const LEFT_PENDING: unique symbol = Symbol('left pending');

/**
 * Computed cells an insert fills itself, in the rows it writes, instead of leaving them pending for
 * its version's stage jobs: cheap columns whose function the writing process has (the runtime
 * decides which, see its inline compute). Filling them in the COPY saves each row a second write (the
 * stage's UPDATE, a new row version) and a round of jobs. A cell given as LEFT_PENDING is written
 * pending, as without this, and computed by the stage as usual.
 */
export interface InlineCells {
  /** computed columns of the table, in the order `cells` gives their values */
  columns: string[];
  /** a validated row's cells of `columns`, in order: a value, or LEFT_PENDING */
  cells(row: Row): unknown[];
}
