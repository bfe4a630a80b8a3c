/**
 * docker/Dockerfile linted (dockerfile-utils: the rules of the Docker language server) and checked
 * for what the production image promises; docker/compose.yaml checked for its services and workers.
 * No Docker engine runs here: test/production/file-set.test.ts runs the image's file set instead.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { parse } from 'yaml';

const ROOT = path.resolve(import.meta.dirname, '../..');
const text = readFileSync(path.join(ROOT, 'docker/Dockerfile'), 'utf8');

test('the Dockerfile has no lint problems, and the linter finds them where they are', () => {
  expect(validate(text, {}).map((d) => `line ${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
  expect(validate('FROM node:24\nEXPOSE abc\nFROOM x\n', {}).length).toBe(2);
});

test('multi-stage, supported Node LTS, compiled output with production dependencies, ffmpeg, non-root, healthcheck', () => {
  const file = DockerfileParser.parse(text);
  const args = new Map(file.getARGs().map((a) => [a.getProperty()?.getName(), a.getProperty()?.getValue()]));
  const froms = file.getFROMs();
  expect(froms.length).toBeGreaterThanOrEqual(2);
  const base = String(args.get('NODE_IMAGE'));
  expect(Number(/^node:(\d+)/.exec(base)?.[1])).toBeGreaterThanOrEqual(22);
  const instructions = file.getInstructions();
  const finalStart = instructions.indexOf(froms.at(-1)!);
  const final = instructions.slice(finalStart).map((i) => `${i.getKeyword()} ${i.getTextContent()}`);
  const before = instructions.slice(0, finalStart).map((i) => `${i.getKeyword()} ${i.getTextContent()}`);
  // the build stage assembles the file set the tests run (compiled JS, npm ci --omit=dev)
  expect(before.some((l) => l.startsWith('RUN') && l.includes('scripts/production/assemble.mjs'))).toBe(true);
  expect(readFileSync(path.join(ROOT, 'scripts/production/assemble.mjs'), 'utf8')).toContain("'--omit=dev'");
  expect(final.some((l) => l.startsWith('COPY') && l.includes('--from=build'))).toBe(true);
  expect(final.some((l) => l.startsWith('RUN') && /apt-get install [\s\S]*ffmpeg/.test(l))).toBe(true);
  const user = final.filter((l) => l.startsWith('USER')).at(-1);
  expect(user).toBeDefined();
  expect(user).not.toMatch(/root|\b0\b/);
  expect(final.some((l) => l.startsWith('HEALTHCHECK') && l.includes('/healthz'))).toBe(true);
  const entry = final.find((l) => l.startsWith('ENTRYPOINT'))!;
  expect(entry).toContain('apps/worker/dist/main.js');
  expect(entry).not.toContain('tsx');
});

test('compose runs Redis, Postgres, MySQL, the storage emulators and N workers with health checks', () => {
  const compose = parse(readFileSync(path.join(ROOT, 'docker/compose.yaml'), 'utf8')) as { services: Record<string, any> };
  expect(Object.keys(compose.services)).toEqual(expect.arrayContaining(['redis', 'postgres', 'mysql', 'minio', 'azurite', 'worker']));
  const worker = compose.services.worker;
  expect(String(worker.deploy.replicas)).toMatch(/TESSERA_WORKERS/);
  expect(worker.build.dockerfile).toBe('docker/Dockerfile');
  expect(worker.depends_on.redis.condition).toBe('service_healthy');
  expect(worker.stop_grace_period).toBeDefined();
  for (const s of ['redis', 'postgres', 'mysql']) expect(compose.services[s].healthcheck).toBeDefined();
});
