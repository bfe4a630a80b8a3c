export { SOURCES_QUEUE, SourceJob, schedulerId } from './source-job';
export { runSource, sourceOf, type RunSourceOptions } from './run-source';
export { syncSources, pauseSource, resumeSource, sourceStatuses, type SourceStatus } from './schedules';
export { onSourceRun, type SourceRunReport } from './source-events';
export { runSourceJob } from './source-processor';
