export { TesseraClient, type TesseraClientOptions, type SendOptions, type SendResult } from './client';
export { INGEST_QUEUE, MAX_ROWS_PER_REQUEST, type IngestPayload } from './ingest-payload';
export type { TableRef, TableSender, WritableRef } from './typed-table';
