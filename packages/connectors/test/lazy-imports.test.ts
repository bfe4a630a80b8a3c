import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

/**
 * Importing @tessera/connectors, and declaring stores and sinks (as a pipeline module does when a
 * worker loads it), imports none of the cloud SDKs, mysql2, Arrow or Parquet: they load on first use.
 * A child process records every module the ESM loader resolves.
 */
const HEAVY = [
  '@aws-sdk/client-s3',
  '@aws-sdk/lib-storage',
  '@azure/storage-blob',
  '@google-cloud/storage',
  'mysql2',
  'apache-arrow',
  'hyparquet-writer',
  'hyparquet/',
  '@lancedb/lancedb',
];
const ROOT = path.resolve(import.meta.dirname, '../../..');

const script = (dir: string) => `
  const c = await import('@tessera/connectors');
  const { t } = await import('@tessera/core');
  new c.S3MediaStore(); new c.GcsMediaStore(); new c.AzureMediaStore({ connectionString: 'UseDevelopmentStorage=true' });
  c.mysql({ url: 'mysql://root@127.0.0.1:1/none', table: 'x' });
  c.postgres({ url: 'postgres://postgres@127.0.0.1:1/none', table: 'x' });
  c.lancedb({ uri: ${JSON.stringify(dir)}, table: 'x', create: true });
  const files = c.parquetFiles({ destination: ${JSON.stringify(dir)} });
  c.arrowFiles({ destination: ${JSON.stringify(dir)} });
  c.createMediaContext({ defaultDestination: 's3://bucket/prefix' });
  await new Promise((r) => setTimeout(r, 100));
  const before = [...globalThis.__resolved];
  const schema = { source: 'notes', key: ['id'], columns: [{ name: 'id', type: t.string().primaryKey().spec }] };
  await files.upsert(schema, [{ id: 'a' }]);
  await new Promise((r) => setTimeout(r, 100));
  console.log(JSON.stringify({ before, after: globalThis.__resolved }));
`;

test('the heavy dependencies load on first use, not at import', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-lazy-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--import', path.join(import.meta.dirname, 'support/import-log.mjs'), '--input-type=module', '-e', script(dir)],
      { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } },
    );
    const { before, after } = JSON.parse(stdout.trim().split('\n').pop()!) as { before: string[]; after: string[] };
    const heavy = (urls: string[]) => urls.filter((u) => HEAVY.some((h) => u.includes(`/node_modules/${h}`)));
    expect(before.some((u) => u.includes('/packages/connectors/src/index.ts'))).toBe(true); // the hook saw the imports
    expect(heavy(before)).toEqual([]);
    // writing a Parquet file imports the writer then: the recording would have seen an eager import
    expect(heavy(after).some((u) => u.includes('/node_modules/hyparquet-writer/'))).toBe(true);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
