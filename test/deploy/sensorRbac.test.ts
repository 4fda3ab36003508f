/**
 * The ClusterRole of deploy/base, for real: its ServiceAccount, ClusterRole
 * and ClusterRoleBinding are created in a real kube-apiserver, the sensor's
 * own Kubernetes code (KubernetesMetadata) runs with a token of that
 * ServiceAccount, and it lists, watches and reads owners without one
 * refusal, naming a Deployment above a ReplicaSet and a CronJob above a
 * Job. The same account is refused everything else the tests ask about
 * (secrets, namespaces, writes). Skipped, with the reason printed, when
 * the API server is not built (sh test/peers/kube/prepare.sh).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { KubernetesMetadata } from '../../src/enrichment/kubernetes/kubernetesMetadata.ts';
import { manifestId, type KubeManifest } from '../../src/deploy/renderManifests.ts';
import { kubeApiServerUnavailableReason, startKubeApiServer, type KubeApiServer } from '../support/kubeApiServer.ts';
import { createEndpointSlice, createNode, createPod, createReplicaSet, createService, createWorkload } from '../support/kubeObjects.ts';
import { find, render } from './deployTree.ts';
import { sensorApiCalls } from './sensorApiCalls.ts';

const skipReason = kubeApiServerUnavailableReason();
const NAMESPACE = 'hydrophone-system';
const ACCOUNT = `system:serviceaccount:${NAMESPACE}:hydrophone-sensor`;
const cid = (n: number) => n.toString(16).padStart(64, 'c');

async function eventually(ok: () => boolean, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe.skipIf(skipReason)('the sensor with the RBAC of deploy/base, against a real kube-apiserver', () => {
  let api: KubeApiServer;
  let kube: KubernetesMetadata;
  let kc: KubeConfig;
  const problems: string[] = [];

  /** POST path for each of the base objects this test creates. */
  const collection: Record<string, string> = {
    Namespace: '/api/v1/namespaces',
    ServiceAccount: `/api/v1/namespaces/${NAMESPACE}/serviceaccounts`,
    ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
  };

  beforeAll(async () => {
    api = await startKubeApiServer();
    const c = api.client;
    const base = render('base');
    for (const kind of Object.keys(collection)) await c.create(collection[kind]!, find(base, kind) as KubeManifest & { metadata: { name: string } });

    await c.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
    await createNode(c, 'node-a', { zone: 'zone-1' });
    const deployment = await createWorkload(c, 'Deployment', 'shop', 'web');
    const replicaSet = await createReplicaSet(c, 'shop', deployment, { name: 'web-7d9f' });
    await createPod(c, 'shop', 'web-7d9f-abcde', { nodeName: 'node-a', owner: replicaSet, containers: [{ name: 'app', containerID: `containerd://${cid(1)}` }], podIP: '10.244.0.7' });
    const cronJob = await createWorkload(c, 'CronJob', 'shop', 'nightly');
    const job = await createWorkload(c, 'Job', 'shop', 'nightly-29000000', { owner: cronJob });
    await createPod(c, 'shop', 'nightly-29000000-xyz12', { nodeName: 'node-a', owner: job, containers: [{ name: 'batch', containerID: `containerd://${cid(2)}` }] });
    const service = await createService(c, 'shop', 'web', { selector: { app: 'web' }, ports: [{ port: 80 }] });
    await createEndpointSlice(c, 'shop', service, [{ ip: '10.244.0.7', nodeName: 'node-a' }], { ports: [{ port: 80 }] });

    // A token of the ServiceAccount, as the kubelet mounts one into the sensor's pod.
    const request = await c.json<{ status: { token: string } }>('POST', `/api/v1/namespaces/${NAMESPACE}/serviceaccounts/hydrophone-sensor/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 },
    });
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'test', server: api.server, caData: Buffer.from(api.caPem).toString('base64') }],
      users: [{ name: 'hydrophone-sensor', token: request.status.token }],
      contexts: [{ name: 'sensor', cluster: 'test', user: 'hydrophone-sensor' }],
      currentContext: 'sensor',
    });
    kube = new KubernetesMetadata(kc, { nodeName: 'node-a', onProblem: (m) => problems.push(m) });
    expect(await kube.start(30_000)).toEqual({ synced: true });
  }, 120_000);

  afterAll(async () => {
    kube?.stop();
    await api?.stop();
  });

  it('lists and watches this node\'s pods, Services and EndpointSlices, reads the node and both kinds of owner, without one refusal', async () => {
    await eventually(() => kube.resourceOf(cid(1))?.complete === true && kube.resourceOf(cid(2))?.complete === true && kube.store.node !== undefined, 'both owners and the node');
    expect(kube.resourceOf(cid(1))!.attributes).toMatchObject({ 'k8s.replicaset.name': 'web-7d9f', 'k8s.deployment.name': 'web', 'cloud.availability_zone': 'zone-1' });
    expect(kube.resourceOf(cid(2))!.attributes).toMatchObject({ 'k8s.job.name': 'nightly-29000000', 'k8s.cronjob.name': 'nightly' });
    expect(kube.peerOf('10.244.0.7')).toMatchObject({ serverAddress: 'web.shop.svc.cluster.local' });
    // Services: shop/web and the API server's own default/kubernetes.
    expect(kube.stats()).toMatchObject({ pods: 2, services: 2, endpointSlices: 1 });
    expect(problems).toEqual([]);
  });

  const review = async (resourceAttributes: Record<string, string>) => {
    const r = await api.client.json<{ status: { allowed: boolean } }>('POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', {
      apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
      spec: { user: ACCOUNT, groups: ['system:serviceaccounts', `system:serviceaccounts:${NAMESPACE}`, 'system:authenticated'], resourceAttributes },
    });
    return r.status.allowed;
  };

  it('allows each call the code makes, cluster-wide', async () => {
    for (const call of sensorApiCalls().keys()) {
      const [gr, verb] = call.split(' ') as [string, string];
      const [group, resource] = gr.split('/') as [string, string];
      expect(await review({ verb, group: group === 'core' ? '' : group, resource }), call).toBe(true);
    }
  });

  it.each([
    ['get', 'core', 'secrets'], ['list', 'core', 'secrets'], ['list', 'core', 'configmaps'], ['list', 'core', 'namespaces'],
    ['create', 'core', 'pods'], ['delete', 'core', 'pods'], ['create', 'core', 'pods/exec'], ['get', 'core', 'pods/log'],
    ['list', 'core', 'nodes'], ['patch', 'core', 'nodes'], ['list', 'apps', 'replicasets'], ['list', 'batch', 'jobs'],
    ['get', 'apps', 'deployments'], ['create', 'rbac.authorization.k8s.io', 'clusterrolebindings'], ['impersonate', 'core', 'serviceaccounts'],
  ])('refuses %s %s/%s', async (verb, group, resource) => {
    const [res, sub] = resource.split('/') as [string, string | undefined];
    expect(await review({ verb, group: group === 'core' ? '' : group, resource: res, ...(sub ? { subresource: sub } : {}) })).toBe(false);
  });

  it('and its token really is refused a secret', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    await expect(core.listSecretForAllNamespaces()).rejects.toMatchObject({ code: 403 });
    expect(manifestId(find(render('base'), 'ClusterRole'))).toBe('rbac.authorization.k8s.io/ClusterRole hydrophone-sensor');
  });
});
