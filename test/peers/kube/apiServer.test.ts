/**
 * The real Kubernetes API server the enrichment tests run against
 * (test/support/kubeApiServer.ts): it starts, takes the objects a cluster
 * holds (Node, Deployment -> ReplicaSet -> Pod, Service, EndpointSlice),
 * lists pods by node the way a node-local informer does, and watches from
 * a list's resourceVersion. Skipped, with the reason printed, when the
 * binaries are not built (sh test/peers/kube/prepare.sh builds them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { kubeApiServerUnavailableReason, startKubeApiServer, type KubeApiServer } from '../../support/kubeApiServer.ts';
import type { KubeObject } from '../../support/kubeClient.ts';
import {
  containerId, createDeployment, createEndpointSlice, createNamespace, createNode, createPod, createReplicaSet,
  createService, deletePod, kubePath,
} from '../../support/kubeObjects.ts';

const skipReason = kubeApiServerUnavailableReason();

interface PodStatus {
  phase: string;
  podIP?: string;
  containerStatuses?: { name: string; containerID?: string }[];
}

describe.skipIf(skipReason)('a real kube-apiserver', () => {
  let api: KubeApiServer;

  beforeAll(async () => {
    api = await startKubeApiServer();
    process.stderr.write(`[hydrophone] kube-apiserver ready at ${api.server} in ${api.startupMs} ms\n`);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('serves a real Kubernetes version and writes a kubeconfig with the admin inline', async () => {
    const version = await api.client.json<{ major: string; minor: string; gitVersion: string }>('GET', '/version');
    expect(version.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    const kubeconfig = readFileSync(api.kubeconfigPath, 'utf8');
    expect(kubeconfig).toContain(`server: ${api.server}`);
    expect(kubeconfig).toContain('client-certificate-data: ');
    // The admin is in system:masters: it may do anything, cluster-wide.
    const review = await api.client.json<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'watch', resource: 'pods' } },
    });
    expect(review.status.allowed).toBe(true);
  });

  it('holds a Node, a Deployment -> ReplicaSet -> Pod chain, a Service and its EndpointSlice; lists and watches pods by node', async () => {
    const c = api.client;
    const ns = 'shop';
    await createNamespace(c, ns);
    await createNode(c, 'node-a', { zone: 'eu-west-1a', region: 'eu-west-1', internalIP: '192.0.2.10' });
    await createNode(c, 'node-b', { zone: 'eu-west-1b' });
    const node = await c.get(kubePath('Node', undefined, 'node-a'));
    expect(node.metadata.labels?.['topology.kubernetes.io/zone']).toBe('eu-west-1a');

    const deployment = await createDeployment(c, ns, 'checkout', { labels: { app: 'checkout', 'app.kubernetes.io/name': 'checkout-svc' } });
    const replicaSet = await createReplicaSet(c, ns, deployment);
    expect(replicaSet.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'checkout', uid: deployment.metadata.uid, controller: true });

    const id = containerId();
    const pod = await createPod(c, ns, `${replicaSet.metadata.name}-x7k2p`, {
      nodeName: 'node-a',
      owner: replicaSet,
      labels: replicaSet.metadata.labels ?? {},
      annotations: { 'resource.opentelemetry.io/service.name': 'checkout' },
      containers: [{ name: 'app', env: [{ name: 'OTEL_SERVICE_NAME', value: 'checkout-api' }], containerID: id }, { name: 'sidecar' }],
      podIP: '10.244.1.5',
      hostIP: '192.0.2.10',
    });
    const status = pod.status as PodStatus;
    expect(status.phase).toBe('Running');
    expect(status.podIP).toBe('10.244.1.5');
    expect(status.containerStatuses?.find((s) => s.name === 'app')?.containerID).toBe(id);
    expect(id).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(pod.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: replicaSet.metadata.name, uid: replicaSet.metadata.uid });
    // A pod on the other node, which a node-local informer must not see.
    await createPod(c, ns, 'elsewhere', { nodeName: 'node-b', podIP: '10.244.2.9' });

    const service = await createService(c, ns, 'checkout', { selector: { app: 'checkout' }, ports: [{ port: 80, targetPort: 8080, name: 'http' }] });
    const clusterIP = (service.spec as { clusterIP: string }).clusterIP;
    expect(clusterIP).toMatch(/^10\.96\.\d+\.\d+$/);
    const slice = await createEndpointSlice(c, ns, service, [{ ip: '10.244.1.5', pod, nodeName: 'node-a', zone: 'eu-west-1a' }]);
    const slices = await c.list(kubePath('EndpointSlice'), { labelSelector: 'kubernetes.io/service-name=checkout' });
    expect(slices.items.map((s) => s.metadata.name)).toEqual([slice.metadata.name]);
    expect((slices.items[0] as KubeObject & { endpoints: { targetRef: { name: string } }[] }).endpoints[0]?.targetRef.name).toBe(pod.metadata.name);

    // The informer's list: every namespace, this node only.
    const list = await c.list(kubePath('Pod'), { fieldSelector: 'spec.nodeName=node-a' });
    expect(list.items.map((p) => p.metadata.name)).toEqual([pod.metadata.name]);
    expect(list.metadata.resourceVersion).toMatch(/^\d+$/);

    // ... and its watch from that list's resourceVersion: an update arrives as MODIFIED.
    const watch = await c.watch(kubePath('Pod'), { fieldSelector: 'spec.nodeName=node-a', resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true });
    try {
      await c.patch(kubePath('Pod', ns, pod.metadata.name), { metadata: { labels: { version: 'v2' } } });
      const modified = await watch.next((e) => e.type === 'MODIFIED' && e.object.metadata.labels?.version === 'v2');
      expect(modified.object.metadata.name).toBe(pod.metadata.name);
      expect(Number(modified.object.metadata.resourceVersion)).toBeGreaterThan(Number(list.metadata.resourceVersion));

      // A pod created on the node arrives as ADDED; one elsewhere does not arrive at all.
      await createPod(c, ns, 'late', { nodeName: 'node-a', podIP: '10.244.1.6' });
      await createPod(c, ns, 'late-elsewhere', { nodeName: 'node-b', podIP: '10.244.2.10' });
      await watch.next((e) => e.type === 'ADDED' && e.object.metadata.name === 'late');
      await deletePod(c, ns, 'late');
      await watch.next((e) => e.type === 'DELETED' && e.object.metadata.name === 'late');
      expect(watch.events.some((e) => e.object.metadata?.name === 'late-elsewhere')).toBe(false);
    } finally {
      watch.stop();
    }
  });

  it('ends watches on a restart and answers a watch from before it with 410 Gone, as after an API server rollout', async () => {
    const c = api.client;
    await createPod(c, 'default', 'churn', { nodeName: 'node-a' });
    const list = await c.list(kubePath('Pod'), { fieldSelector: 'spec.nodeName=node-a' });
    const watch = await c.watch(kubePath('Pod'), { fieldSelector: 'spec.nodeName=node-a', resourceVersion: list.metadata.resourceVersion });
    for (let i = 1; i <= 3; i++) await c.patch(kubePath('Pod', 'default', 'churn'), { metadata: { labels: { n: String(i) } } });
    await watch.next((e) => e.object.metadata?.labels?.n === '3');
    const ms = await api.restartApiServer();
    process.stderr.write(`[hydrophone] kube-apiserver restarted in ${ms} ms\n`);
    expect(watch.closed).toBe(true);
    // The new watch cache starts after the list's resourceVersion: the watch
    // is accepted (200), then its only event is an ERROR carrying 410 Expired.
    const stale = await c.watch(kubePath('Pod'), { fieldSelector: 'spec.nodeName=node-a', resourceVersion: list.metadata.resourceVersion });
    try {
      const error = await stale.next((e) => e.type === 'ERROR');
      expect(error.object).toMatchObject({ kind: 'Status', code: 410, reason: 'Expired' });
    } finally {
      stale.stop();
    }
    // A relist gives a fresh resourceVersion that can be watched again.
    const relist = await c.list(kubePath('Pod'), { fieldSelector: 'spec.nodeName=node-a' });
    expect(relist.items.find((p) => p.metadata.name === 'churn')?.metadata.labels?.n).toBe('3');
    const fresh = await c.watch(kubePath('Pod'), { fieldSelector: 'spec.nodeName=node-a', resourceVersion: relist.metadata.resourceVersion });
    try {
      await c.patch(kubePath('Pod', 'default', 'churn'), { metadata: { labels: { n: '4' } } });
      await fresh.next((e) => e.type === 'MODIFIED' && e.object.metadata.labels?.n === '4');
    } finally {
      fresh.stop();
    }
  });

  it('accepts the kubeconfig through @kubernetes/client-node when it is installed', async (ctx) => {
    const spec = '@kubernetes/client-node';
    let k8s: { KubeConfig: new () => { loadFromFile(p: string): void; makeApiClient(api: unknown): { listNode(): Promise<{ items: KubeObject[] }> } }; CoreV1Api: unknown };
    try {
      k8s = await import(spec);
    } catch {
      ctx.skip();
      return;
    }
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    const nodes = await kc.makeApiClient(k8s.CoreV1Api).listNode();
    expect(nodes.items.map((n) => n.metadata.name).sort()).toEqual(['node-a', 'node-b']);
  });
});
