/** The longest row an import reads (TESSERA_MAX_ROW_BYTES, default 64 MiB): a JSONL line, a CSV record. */
export const maxRowBytesFromEnv = (): number => Number(process.env.TESSERA_MAX_ROW_BYTES) || 64 * 1024 * 1024;
