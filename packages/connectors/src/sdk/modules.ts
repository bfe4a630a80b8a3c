import { lazyModule } from './lazy';

/** Every heavy dependency of the connectors, each imported on first use (see lazy.ts). */
export const s3Sdk = lazyModule(async () => {
  const [client, storage] = await Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]);
  return { ...client, Upload: storage.Upload };
});
export const azureSdk = lazyModule(() => import('@azure/storage-blob'));
export const gcsSdk = lazyModule(() => import('@google-cloud/storage'));
export const mysqlDriver = lazyModule(async () => (await import('mysql2/promise')).default);
// typed by name: the inferred type of the module (classes with private members) cannot be written into a .d.ts
export const arrowLib: () => Promise<typeof import('apache-arrow')> = lazyModule(() => import('apache-arrow'));
export const parquetWriter = lazyModule(() => import('hyparquet-writer'));
export const parquetReaderLib = lazyModule(async () => {
  const [hyparquet, { compressors }] = await Promise.all([import('hyparquet'), import('hyparquet-compressors')]);
  return { ...hyparquet, compressors };
});
