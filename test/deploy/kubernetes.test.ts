/**
 * deploy/k8s validated against the Kubernetes and KEDA schemas (kubernetes-models, generated from the
 * Kubernetes OpenAPI and the KEDA CRDs), and checked for what running Tessera needs: probes, graceful
 * shutdown, non-root, config and secrets that exist, a ScaledObject per worker Deployment on its queues.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

const DIR = path.resolve(import.meta.dirname, '../../deploy/k8s');

interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: any;
  [k: string]: unknown;
}

function load(): Array<{ file: string; doc: Doc }> {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(path.join(DIR, file), 'utf8')).map((d) => {
        if (d.errors.length) throw new Error(`${file}: ${d.errors[0]!.message}`);
        return { file, doc: d.toJS() as Doc };
      }),
    );
}

/** the kubernetes-models class for a document's apiVersion and kind */
async function modelOf(doc: Doc): Promise<new (d: unknown) => { validate(): void }> {
  const [group, version] = doc.apiVersion.includes('/') ? doc.apiVersion.split('/') : ['', doc.apiVersion];
  const mod =
    group === 'keda.sh'
      ? `@kubernetes-models/keda/keda.sh/${version}/${doc.kind}`
      : group
        ? `kubernetes-models/${group}/${version}/${doc.kind}`
        : `kubernetes-models/${version}/${doc.kind}`;
  const m = (await import(mod)) as Record<string, new (d: unknown) => { validate(): void }>;
  const cls = m[doc.kind] ?? (m as { default?: Record<string, never> }).default?.[doc.kind];
  if (!cls) throw new Error(`no schema for ${doc.apiVersion} ${doc.kind}`);
  return cls;
}

async function validate(doc: Doc): Promise<void> {
  const Model = await modelOf(doc);
  new Model(doc).validate();
}

const docs = load();
const of = (kind: string) => docs.map((d) => d.doc).filter((d) => d.kind === kind);

test('every manifest is valid against its Kubernetes or KEDA schema', async () => {
  expect(docs.length).toBeGreaterThan(5);
  for (const { file, doc } of docs) {
    await expect(
      validate(doc).then(
        () => 'valid',
        (e: Error) => `${file} ${doc.kind}/${doc.metadata.name}: ${e.message}`,
      ),
    ).resolves.toBe('valid');
  }
  // kustomization lists every file
  const kustomization = readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8');
  for (const file of new Set(docs.map((d) => d.file))) expect(kustomization).toContain(`- ${file}`);
});

test('the schemas reject a broken manifest (the check can fail)', async () => {
  const deployment = structuredClone(of('Deployment')[0]!);
  deployment.spec.template.spec.containers[0].ports[0].containerPort = 'ninety';
  await expect(validate(deployment)).rejects.toThrow(/containerPort/);
  const scaled = structuredClone(of('ScaledObject')[0]!);
  delete scaled.spec.scaleTargetRef;
  await expect(validate(scaled)).rejects.toThrow(/scaleTargetRef/);
});

test('workers: probes, graceful shutdown, non-root, config and secrets that exist', () => {
  const configMaps = new Set(of('ConfigMap').map((d) => d.metadata.name));
  const secrets = new Set(of('Secret').map((d) => d.metadata.name));
  const workers = of('Deployment').filter((d) => d.metadata.name.startsWith('tessera-worker-'));
  expect(workers.map((w) => w.metadata.name)).toEqual(expect.arrayContaining(['tessera-worker-control', 'tessera-worker-cpu', 'tessera-worker-media']));
  for (const w of workers) {
    const pod = w.spec.template.spec;
    const [c] = pod.containers;
    expect(c.args.length).toBeGreaterThan(0); // the queues it consumes
    expect(c.livenessProbe.httpGet.path).toBe('/healthz');
    expect(c.readinessProbe.httpGet.path).toBe('/readyz');
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(60);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    // every volume a worker writes is bounded: an unbounded emptyDir fills the node's disk
    for (const v of pod.volumes) if ('emptyDir' in v) expect(v.emptyDir.sizeLimit).toMatch(/^\d+(Mi|Gi)$/);
    for (const from of c.envFrom) {
      if (from.configMapRef) expect(configMaps).toContain(from.configMapRef.name);
      if (from.secretRef) expect(secrets).toContain(from.secretRef.name);
    }
  }
});

test('a KEDA ScaledObject per worker Deployment, scaling on the wait list of each queue it consumes', () => {
  const prefix = of('ConfigMap').find((c) => c.metadata.name === 'tessera-config')!.data as Record<string, string>;
  const auths = new Set(of('TriggerAuthentication').map((d) => d.metadata.name));
  const scaled = new Map(of('ScaledObject').map((s) => [s.spec.scaleTargetRef.name as string, s]));
  for (const w of of('Deployment').filter((d) => d.metadata.name.startsWith('tessera-worker-'))) {
    const so = scaled.get(w.metadata.name);
    expect(so).toBeDefined();
    const lists = so!.spec.triggers.map((t: any) => t.metadata.listName);
    expect(lists.sort()).toEqual(w.spec.template.spec.containers[0].args.map((q: string) => `${prefix.TESSERA_QUEUE_PREFIX}:${q}:wait`).sort());
    for (const t of so!.spec.triggers) {
      expect(t.type).toBe('redis');
      expect(auths).toContain(t.authenticationRef.name);
    }
    expect(so!.spec.maxReplicaCount).toBeGreaterThan(so!.spec.minReplicaCount ?? 0);
  }
});
