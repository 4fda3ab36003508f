/**
 * KubernetesMetadata against a real kube-apiserver (test/peers/kube):
 * this node's pods only, owners resolved, and recovery when the API server
 * restarts (its watches end; resuming from the old resourceVersion is
 * answered 410 Gone; a fresh list follows).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeApiServerUnavailableReason, startKubeApiServer, type KubeApiServer } from '../../../test/support/kubeApiServer.ts';
import { createNamespace, createNode, createPod, createReplicaSet, createWorkload } from '../../../test/support/kubeObjects.ts';
import { KubernetesMetadata } from './kubernetesMetadata.ts';

const skipReason = kubeApiServerUnavailableReason();
const cid = (n: number) => n.toString(16).padStart(64, 'a');

async function eventually(ok: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skipReason)('Kubernetes metadata from a real API server', () => {
  let api: KubeApiServer;
  let kube: KubernetesMetadata;

  beforeAll(async () => {
    api = await startKubeApiServer();
    await createNamespace(api.client, 'shop');
    await createNode(api.client, 'node-a', { zone: 'zone-1' });
    const deployment = await createWorkload(api.client, 'Deployment', 'shop', 'web');
    const rs = await createReplicaSet(api.client, 'shop', deployment, { name: 'web-5b8c' });
    await createPod(api.client, 'shop', 'web-5b8c-aaaaa', { nodeName: 'node-a', owner: rs, containers: [{ name: 'app', containerID: `containerd://${cid(1)}` }], podIP: '10.244.0.5' });
    await createPod(api.client, 'shop', 'elsewhere', { nodeName: 'node-b', containers: [{ name: 'app', containerID: `containerd://${cid(2)}` }], podIP: '10.244.9.9' });
    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    kube = new KubernetesMetadata(kc, { nodeName: 'node-a', clusterName: 'c1' });
    expect(await kube.start(30_000)).toEqual({ synced: true });
  }, 120_000);

  afterAll(async () => {
    kube?.stop();
    await api?.stop();
  }, 30_000);

  it('holds this node\'s pods only, with the Deployment above their ReplicaSet and the node\'s zone', async () => {
    await eventually(() => kube.resourceOf(cid(1))?.complete === true && kube.store.node !== undefined, 'the owner and the node');
    expect(kube.resourceOf(cid(1))!.attributes).toMatchObject({
      'k8s.pod.name': 'web-5b8c-aaaaa', 'k8s.replicaset.name': 'web-5b8c', 'k8s.deployment.name': 'web', 'service.name': 'web',
      'cloud.availability_zone': 'zone-1', 'k8s.cluster.name': 'c1',
    });
    expect(kube.resourceOf(cid(2))).toBeUndefined();
    expect(kube.stats()).toMatchObject({ pods: 1 });
  });

  it('recovers when the API server restarts: pods made afterwards still arrive', async () => {
    await api.restartApiServer();
    await createPod(api.client, 'shop', 'after-restart', { nodeName: 'node-a', containers: [{ name: 'app', containerID: `containerd://${cid(3)}` }] });
    await eventually(() => kube.resourceOf(cid(3)) !== undefined, 'the pod made after the restart', 60_000);
    const w = kube.stats().watches.pods!;
    // The watch broke (an error, backoff), then either resumed from its
    // resourceVersion or, answered 410 Gone, listed again: both recover.
    expect(w.gone + w.errors).toBeGreaterThan(0);
    expect(w.state).toBe('watching');
  }, 90_000);
});
