/**
 * The informers at scale against a real kube-apiserver (test/peers/kube):
 * N pods bound to this node (far beyond the ~110 a node runs: a stress of
 * the store and the list path), M Services each with an EndpointSlice,
 * created through the API; then the sensor's KubernetesMetadata starts and
 * syncs. Prints the sync time, the heap and RSS the metadata adds, and the
 * lookup cost.
 *
 *   node --expose-gc bench/enrichmentApiServer.ts [--pods N] [--services N] [--json]
 */
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeApiServerUnavailableReason, startKubeApiServer } from '../test/support/kubeApiServer.ts';
import { createEndpointSlice, createNamespace, createNode, createPod, createReplicaSet, createService, createWorkload } from '../test/support/kubeObjects.ts';
import { KubernetesMetadata } from '../src/enrichment/kubernetes/kubernetesMetadata.ts';

const { values } = parseArgs({ options: { pods: { type: 'string' }, services: { type: 'string' }, json: { type: 'boolean' } } });
const PODS = Number(values.pods ?? 5000);
const SERVICES = Number(values.services ?? 1000);
const gc = (globalThis as { gc?: () => void }).gc;
const why = kubeApiServerUnavailableReason();
if (why || !gc) {
  console.error(`enrichmentApiServer: ${why ?? 'run with node --expose-gc'}`);
  process.exit(why ? 0 : 2);
}

/** Runs `make(i)` for i < n, `width` at a time. */
async function inParallel(n: number, width: number, make: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await make(next++);
  }));
}

const ip = (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
const api = await startKubeApiServer();
try {
  const c = api.client;
  const t0 = Date.now();
  await createNamespace(c, 'load');
  await createNode(c, 'node-a', { zone: 'z1' });
  const deployment = await createWorkload(c, 'Deployment', 'load', 'api');
  const rs = await createReplicaSet(c, 'load', deployment, { name: 'api-6f7d' });
  await inParallel(PODS, 16, (i) => createPod(c, 'load', `api-6f7d-${i}`, {
    nodeName: 'node-a', owner: rs, labels: { app: 'api' }, podIP: ip(1_000_000 + i),
    containers: [{ name: 'app', containerID: `containerd://${i.toString(16).padStart(64, '0')}`, env: [{ name: 'OTEL_SERVICE_NAME', value: 'api' }] }, { name: 'sidecar' }],
  }));
  await inParallel(SERVICES, 16, async (i) => {
    const svc = await createService(c, 'load', `svc-${i}`);
    await createEndpointSlice(c, 'load', svc, [0, 1, 2].map((k) => ({ ip: ip(1_000_000 + ((i * 3 + k) % PODS)) })));
  });
  const createS = (Date.now() - t0) / 1000;

  const kc = new KubeConfig();
  kc.loadFromFile(api.kubeconfigPath);
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const rss0 = process.memoryUsage().rss;
  const kube = new KubernetesMetadata(kc, { nodeName: 'node-a' });
  const s0 = performance.now();
  const { synced } = await kube.start(120_000);
  const syncMs = performance.now() - s0;
  gc();
  const heapMb = (process.memoryUsage().heapUsed - heap0) / 1e6;
  const rssMb = (process.memoryUsage().rss - rss0) / 1e6;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const cids = Array.from({ length: PODS }, (_, i) => i.toString(16).padStart(64, '0'));
  const t = process.hrtime.bigint();
  const N = 200_000;
  for (let i = 0; i < N; i++) kube.resourceOf(cids[i % PODS]!);
  const lookupNs = Number(process.hrtime.bigint() - t) / N;
  const stats = kube.stats();
  kube.stop();
  const figures = {
    pods: stats.pods, services: stats.services, endpointSlices: stats.endpointSlices, synced,
    createSeconds: +createS.toFixed(1), syncMs: Math.round(syncMs), heapMb: +heapMb.toFixed(1), rssGrowthMb: +rssMb.toFixed(1),
    processPeakRssMb: Math.round(peakRssMb), resourceLookupNs: Math.round(lookupNs),
  };
  if (values.json) console.log(JSON.stringify(figures));
  else {
    console.log(`real kube-apiserver: ${figures.pods} pods on this node, ${figures.services} services, ${figures.endpointSlices} endpoint slices (created in ${figures.createSeconds} s)`);
    console.log(`  first sync (paged lists, 500 a page): ${figures.syncMs} ms; synced: ${synced}`);
    console.log(`  heap held by the metadata: ${figures.heapMb} MB; RSS grew ${figures.rssGrowthMb} MB; process peak RSS ${figures.processPeakRssMb} MB`);
    console.log(`  resource by container id: ${figures.resourceLookupNs} ns`);
  }
} finally {
  await api.stop();
}
