export { loadConfig, type TesseraConfig } from './config';
export { Engine, connectRedis, redact, selectStages, type EnqueueOptions } from './engine';
export { PipelineRegistry, loadPipelines } from './registry';
export { WorkerPool, type WorkerPoolOptions, type WorkerEvents } from './worker-pool';
export { IngestJob, StageJob, FinalizeJob, IterateJob, DerivedWork } from './jobs/payloads';
export { INGEST_QUEUE, CONTROL_QUEUE, BASE_QUEUES, queueName } from './jobs/queues';
export { buildVersionFlow } from './dag/build-flow';
export { reconcile, type ReconcileReport } from './reconcile';
export * from './limiter/index';
