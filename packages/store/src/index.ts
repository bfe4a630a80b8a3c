export { Store, type StoreOptions, type WriteOptions } from './store';
export type { CatalogTable, CatalogColumn } from './catalog';
export type { ApplyChange, ApplyOptions } from './apply';
export type { Row } from './rows';
export type { SelectOptions, ColumnStatus, CellError } from './read';
export type { VersionInfo, VersionKind } from './versions';
export type { RowSelector, BatchRow, CellResult } from './cells';
export { stageInputs } from './cells';
export { statusCol, errTypeCol, errMsgCol, CELL_OK, CELL_ERROR, ident } from './sql';
