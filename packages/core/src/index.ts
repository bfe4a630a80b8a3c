export * from './errors';
export { redact, type RedactOptions } from './redact';
export { checkName, checkPipelineName } from './names';
export * from './types/column-type';
export { validateValue } from './types/validate-value';
export { boundedRuns } from './text/bounded-runs';
export { setValueLimits, valueLimits, type ValueLimits } from './types/value-limits';
export * from './expr/expr';
export * from './udf/udf';
export { UdfTimeoutError, IteratorTimeoutError, withDeadline } from './udf/call-deadline';
export type * from './udf/response-cache';
export * from './iterator/iterator';
export type * from './media/media-store';
export { sniffMedia, isGeneratedMedia, storeGeneratedMedia, type GeneratedMedia } from './media/generated-media';
export { imageSource } from './media/image-source';
export { scratchDir, removeStaleScratch } from './media/scratch-dir';
export type * from './export/sink';
export type * from './pipeline/pipeline-def';
export * from './pipeline/define-pipeline';
export type {
  AnyTableHandle,
  ColumnName,
  ComputeOptions,
  Refs,
  Schema,
  ShapeOf,
  TableHandle,
  TableMembers,
  TableShape,
  TableShapeOf,
  ViewShapeOf,
  WithComputed,
} from './pipeline/table-handle';
export type * from './pipeline/row-types';
export * from './planner/plan';
export { checkExpr } from './planner/resolve-type';
export * from './limiter/rate-gate';
export { dependentsOf } from './planner/dependents';
export * from './expr/evaluate';
export type * from './source/source-def';
export { parseSchedule, parseEvery, describeSchedule, type ScheduleInput } from './source/schedule';
export type { SourceOptions } from './source/define-source';
