/**
 * Kubernetes metadata at scale: 5,000 pods (this node's informer would hold
 * ~110; a cluster-wide one, which we do not run, would hold them all) and
 * 1,000 Services with their EndpointSlices, made as the API server returns
 * them (managedFields, status conditions, env, probes), converted to the
 * slim form and stored. Prints the heap the store holds and the cost of the
 * two lookups spans make: resource by container id, peer by IP.
 *
 *   node --expose-gc bench/enrichmentLoad.ts [--pods N] [--services N] [--json]
 */
import { parseArgs } from 'node:util';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { KubeConfig } from '@kubernetes/client-node';
import { KubernetesMetadata } from '../src/enrichment/kubernetes/kubernetesMetadata.ts';
import { slimEndpointSlice, slimPod, slimService } from '../src/enrichment/kubernetes/slimObjects.ts';

const { values } = parseArgs({ options: { pods: { type: 'string' }, services: { type: 'string' }, json: { type: 'boolean' } } });
const PODS = Number(values.pods ?? 5000);
const SERVICES = Number(values.services ?? 1000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('enrichmentLoad: run with node --expose-gc (npm run bench:enrichment does)');
  process.exit(2);
}

const hex = (n: number, len: number) => n.toString(16).padStart(len, '0');
const ip = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;

/** A pod as `kubectl get pod -o json` shows one of a Deployment, with the fields that make real objects heavy. */
function apiPod(i: number): V1Pod {
  const name = `shop-api-${hex(i % 997, 10)}-${hex(i, 5)}`;
  const cid = hex(i * 7919, 64);
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: {
      name, namespace: `team-${i % 40}`, uid: `${hex(i, 8)}-0000-4000-8000-${hex(i, 12)}`, resourceVersion: String(100000 + i),
      labels: { app: 'shop-api', 'app.kubernetes.io/name': 'shop-api', 'pod-template-hash': hex(i % 997, 10), 'app.kubernetes.io/version': '1.4.2', team: 'payments' },
      annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-11-01T10:00:00Z', 'prometheus.io/scrape': 'true', 'resource.opentelemetry.io/service.namespace': 'shop' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: `shop-api-${hex(i % 997, 10)}`, uid: `rs-${i % 997}`, controller: true, blockOwnerDeletion: true }],
      managedFields: [
        { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', time: new Date(), fieldsType: 'FieldsV1', fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"api"}': { '.': {}, 'f:image': {}, 'f:env': {} } } } } },
        { manager: 'kubelet', operation: 'Update', apiVersion: 'v1', time: new Date(), fieldsType: 'FieldsV1', subresource: 'status', fieldsV1: { 'f:status': { 'f:conditions': {}, 'f:containerStatuses': {}, 'f:podIP': {}, 'f:podIPs': {} } } },
      ],
    },
    spec: {
      nodeName: `node-${i % 50}`,
      containers: [
        {
          name: 'api', image: 'registry.example.com/shop/api:1.4.2',
          env: [{ name: 'OTEL_SERVICE_NAME', value: 'shop-api' }, { name: 'LOG_LEVEL', value: 'info' }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
          ports: [{ containerPort: 8080, name: 'http', protocol: 'TCP' }],
          resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '512Mi' } },
          readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
        },
        { name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.24.0', args: ['proxy', 'sidecar', '--domain', '$(POD_NAMESPACE).svc.cluster.local'] },
      ],
    },
    status: {
      phase: 'Running', podIP: ip(i), podIPs: [{ ip: ip(i) }], hostIP: '192.168.0.10', startTime: new Date(),
      conditions: ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'].map((type) => ({ type, status: 'True', lastTransitionTime: new Date() })),
      containerStatuses: [
        { name: 'api', containerID: `containerd://${cid}`, image: 'registry.example.com/shop/api:1.4.2', imageID: `sha256:${hex(i, 64)}`, ready: true, restartCount: 0, started: true, state: { running: { startedAt: new Date() } } },
        { name: 'istio-proxy', containerID: `containerd://${hex(i * 7919 + 1, 64)}`, image: 'istio/proxyv2', imageID: 'sha256:x', ready: true, restartCount: 0, state: { running: { startedAt: new Date() } } },
      ],
    },
  } as V1Pod;
}

function apiService(i: number): V1Service {
  return {
    metadata: { name: `svc-${i}`, namespace: `team-${i % 40}`, uid: `svc-uid-${i}`, resourceVersion: String(i), labels: { app: `svc-${i}` }, managedFields: [{ manager: 'kubectl', operation: 'Apply', fieldsV1: { 'f:spec': { 'f:ports': {} } } }] },
    spec: { clusterIP: `10.96.${(i >> 8) & 255}.${i & 255}`, clusterIPs: [`10.96.${(i >> 8) & 255}.${i & 255}`], ports: [{ port: 80, targetPort: 8080, protocol: 'TCP' }], selector: { app: `svc-${i}` }, type: 'ClusterIP' },
  } as V1Service;
}

function apiSlice(i: number): V1EndpointSlice {
  return {
    addressType: 'IPv4',
    metadata: { name: `svc-${i}-abcde`, namespace: `team-${i % 40}`, uid: `es-uid-${i}`, resourceVersion: String(i), labels: { 'kubernetes.io/service-name': `svc-${i}`, 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' } },
    endpoints: Array.from({ length: 5 }, (_, k) => ({ addresses: [ip((i * 5 + k) % PODS)], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `p-${i}-${k}`, namespace: `team-${i % 40}` }, nodeName: `node-${k}` })),
    ports: [{ port: 8080, protocol: 'TCP', name: 'http' }],
  } as V1EndpointSlice;
}

const kc = new KubeConfig();
kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
const kube = new KubernetesMetadata(kc, { nodeName: 'node-0', clusterName: 'bench' });

// Container ids to look up, made before the baseline so they are not counted.
const cids = Array.from({ length: PODS }, (_, i) => hex(i * 7919, 64));
gc();
const base = process.memoryUsage().heapUsed;
const apiPods = Array.from({ length: PODS }, (_, i) => apiPod(i));
const apiServices = Array.from({ length: SERVICES }, (_, i) => apiService(i));
const apiSlices = Array.from({ length: SERVICES }, (_, i) => apiSlice(i));
gc();
const apiHeap = process.memoryUsage().heapUsed - base;
const jsonBytes = apiPods.reduce((n, p) => n + JSON.stringify(p).length, 0);

const t0 = process.hrtime.bigint();
for (const p of apiPods) kube.store.upsertPod(slimPod(p));
for (const s of apiServices) kube.store.upsertService(slimService(s));
for (const e of apiSlices) kube.store.upsertEndpointSlice(slimEndpointSlice(e));
const ingestMs = Number(process.hrtime.bigint() - t0) / 1e6;
// The API objects go, as they do once converted: what stays is the store.
apiPods.length = 0;
apiServices.length = 0;
apiSlices.length = 0;
gc();
const storeHeap = process.memoryUsage().heapUsed - base;

function timeIt(n: number, f: (i: number) => unknown): number {
  for (let i = 0; i < Math.min(n, 10_000); i++) f(i);
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) f(i);
  return Number(process.hrtime.bigint() - t) / n;
}
const resourceNs = timeIt(200_000, (i) => kube.resourceOf(cids[i % cids.length]!));
const peerNs = timeIt(200_000, (i) => kube.peerOf(i % 2 ? ip(i % PODS) : `10.96.${((i % SERVICES) >> 8) & 255}.${i % SERVICES & 255}`));
const stats = kube.store.stats();

const figures = {
  pods: stats.pods,
  services: stats.services,
  endpointSlices: stats.endpointSlices,
  apiJsonMbOfPods: +(jsonBytes / 1e6).toFixed(1),
  apiObjectsHeapMb: +(apiHeap / 1e6).toFixed(1),
  storeHeapMb: +(storeHeap / 1e6).toFixed(1),
  storeBytesPerObject: Math.round(storeHeap / (PODS + 2 * SERVICES)),
  ingestMs: Math.round(ingestMs),
  resourceLookupNs: Math.round(resourceNs),
  peerLookupNs: Math.round(peerNs),
};
if (values.json) console.log(JSON.stringify(figures));
else {
  console.log(`enrichment store: ${figures.pods} pods, ${figures.services} services, ${figures.endpointSlices} endpoint slices`);
  console.log(`  as API objects: ${figures.apiObjectsHeapMb} MB of heap (the pods alone ${figures.apiJsonMbOfPods} MB of JSON); the slim store: ${figures.storeHeapMb} MB (~${figures.storeBytesPerObject} bytes an object)`);
  console.log(`  ingest (convert + index): ${figures.ingestMs} ms`);
  console.log(`  lookups: resource by container id ${figures.resourceLookupNs} ns (builds the attributes; resolvers cache it per process), peer by IP ${figures.peerLookupNs} ns`);
}
kube.stop();
