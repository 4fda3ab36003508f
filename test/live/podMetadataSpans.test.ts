/**
 * Spans name their workload, end to end on this host: a real
 * kube-apiserver (test/peers/kube) holds a Deployment -> ReplicaSet -> pod
 * and a StatefulSet pod behind a Service; real processes run in cgroups
 * shaped like kubelet's (containerd and CRI-O naming) with those pods'
 * container ids; curl in one calls a server in the other through the
 * sensor. Both spans carry the right pod, namespace, owners, service.name
 * and zone; the client span names its peer. A pod-label filter judges the
 * spans by the labels the API server holds, and by new ones after a
 * relabel. A deleted pod still names a late span within the grace period.
 */
import { existsSync, mkdirSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { kubeApiServerUnavailableReason, startKubeApiServer, type KubeApiServer } from '../support/kubeApiServer.ts';
import {
  createEndpointSlice, createNamespace, createNode, createPod, createReplicaSet, createService, createWorkload, deletePod,
} from '../support/kubeObjects.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { freePort, run, startServer, type Server } from '../support/peers.ts';
import { SpanBuilder } from '../../src/spans/spanBuilder.ts';
import { IdGenerator } from '../../src/spans/ids.ts';
import { KubernetesMetadata, ProcessTable, WorkloadResolver } from '../../src/enrichment/index.ts';
import { SpanFilter, type SpanFilterRule } from '../../src/spans/spanFilter.ts';
import { labelKeysOf } from '../../src/spans/labelSelector.ts';
import type { Span } from '../../src/spans/span.ts';

const CGROUP_V2 = '/sys/fs/cgroup/unified';
const skipReason = bpfUnavailableReason() ?? kubeApiServerUnavailableReason() ??
  (existsSync(`${CGROUP_V2}/cgroup.procs`) ? undefined : `no writable cgroup v2 hierarchy at ${CGROUP_V2} to place processes in pod-shaped cgroups`);
if (skipReason) process.stderr.write(`\n[hydrophone] SKIPPING pod metadata end-to-end test: ${skipReason}\n`);

const NODE = 'hp-node-1';
// Pod addresses on the loopback device (the API server refuses 127/8 in EndpointSlices).
const CLIENT_IP = '10.244.77.21';
const SERVER_IP = '10.244.77.22';
const hex = (n: number) => Array.from({ length: 64 }, (_, i) => ((n * 7 + i * 13) % 16).toString(16)).join('');
const CHECKOUT_CID = hex(1);
const CART_CID = hex(2);
// The label filters of the pod-label test; the metadata keeps only these keys besides the well-known ones.
const KEEP_WEB_TEAMS: SpanFilterRule = { namespaces: [], excludeNamespaces: [], processes: [], protocols: [], podLabels: ['tier=web', 'example.com/team'] };
const EXCLUDE_CANARIES: SpanFilterRule = { ...KEEP_WEB_TEAMS, podLabels: [], excludePodLabels: ['canary'] };

/** A kubelet-shaped cgroup for a pod's container (systemd driver), made under the v2 hierarchy. */
function podCgroup(qos: string, podUid: string, scope: string): string {
  const uid = podUid.replaceAll('-', '_');
  const dir = path.join(CGROUP_V2, 'kubepods.slice', `kubepods-${qos}.slice`, `kubepods-${qos}-pod${uid}.slice`, scope);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** A shell that joins `cgroup` and then execs the command: the process lives in the pod's cgroup from its start. */
const inCgroup = (cgroup: string, cmd: string) => ['-c', `echo $$ > ${cgroup}/cgroup.procs && exec ${cmd}`];

describe.skipIf(skipReason)('pod metadata on live spans (real kube-apiserver)', () => {
  let api: KubeApiServer;
  let kube: KubernetesMetadata;
  let server: Server;
  let port: number;
  let checkoutCgroup: string;
  let cartCgroup: string;
  let checkoutPodUid: string;
  const cgroupsMade: string[] = [];

  beforeAll(async () => {
    for (const ip of [CLIENT_IP, SERVER_IP]) await run('ip', ['addr', 'replace', `${ip}/32`, 'dev', 'lo']);
    api = await startKubeApiServer();
    const c = api.client;
    await createNamespace(c, 'shop');
    await createNode(c, NODE, { zone: 'eu-west-1b', region: 'eu-west-1' });
    const deployment = await createWorkload(c, 'Deployment', 'shop', 'checkout', { labels: { app: 'checkout' } });
    const rs = await createReplicaSet(c, 'shop', deployment, { name: 'checkout-7c9d4f' });
    const checkout = await createPod(c, 'shop', 'checkout-7c9d4f-x1x2x', {
      nodeName: NODE, owner: rs, labels: { app: 'checkout', tier: 'web', 'example.com/team': 'payments', 'pod-template-hash': '7c9d4f' }, podIP: CLIENT_IP,
      containers: [{ name: 'main', containerID: `containerd://${CHECKOUT_CID}` }],
    });
    const sts = await createWorkload(c, 'StatefulSet', 'shop', 'cart', { labels: { 'app.kubernetes.io/name': 'cart-store' } });
    const cart = await createPod(c, 'shop', 'cart-0', {
      nodeName: NODE, owner: sts, labels: { 'app.kubernetes.io/name': 'cart-store', tier: 'web' }, podIP: SERVER_IP,
      containers: [{ name: 'web', containerID: `cri-o://${CART_CID}`, env: [{ name: 'OTEL_SERVICE_NAME', value: 'cart-api' }] }],
    });
    const svc = await createService(c, 'shop', 'cart', { selector: { 'app.kubernetes.io/name': 'cart-store' }, ports: [{ port: 80, targetPort: 8080, name: 'http' }] });
    await createEndpointSlice(c, 'shop', svc, [{ ip: SERVER_IP, pod: cart, nodeName: NODE }]);
    checkoutPodUid = checkout.metadata.uid!;

    checkoutCgroup = podCgroup('burstable', checkoutPodUid, `cri-containerd-${CHECKOUT_CID}.scope`);
    cartCgroup = podCgroup('besteffort', cart.metadata.uid!, `crio-${CART_CID}.scope`);
    cgroupsMade.push(checkoutCgroup, cartCgroup);

    const kc = new KubeConfig();
    kc.loadFromFile(api.kubeconfigPath);
    kube = new KubernetesMetadata(kc, {
      nodeName: NODE, clusterName: 'hp-test', limits: { maxPods: 100, maxServices: 100, maxEndpointSlices: 100, deletedPodGraceMs: 30_000 },
      podLabelKeys: labelKeysOf([...KEEP_WEB_TEAMS.podLabels!, ...EXCLUDE_CANARIES.excludePodLabels!]),
    });
    expect(await kube.start(30_000)).toEqual({ synced: true });

    port = await freePort();
    server = await startServer('sh', inCgroup(cartCgroup, `python3 -m http.server ${port} --bind ${SERVER_IP} --directory /usr/share/doc/curl`), port, { host: SERVER_IP });
  }, 180_000);

  afterAll(async () => {
    for (const ip of [CLIENT_IP, SERVER_IP]) await run('ip', ['addr', 'del', `${ip}/32`, 'dev', 'lo']);
    await server?.stop();
    kube?.stop();
    await api?.stop();
    // The processes are gone; their cgroups can go (innermost first).
    for (const dir of cgroupsMade) {
      for (let d = dir; d.startsWith(`${CGROUP_V2}/kubepods.slice`) && d !== CGROUP_V2; d = path.dirname(d)) {
        try {
          rmdirSync(d);
        } catch {
          break; // still used (a sibling), or already gone
        }
      }
    }
  }, 60_000);

  const resolverWithKube = () => new SpanBuilder(new IdGenerator(), new WorkloadResolver(new ProcessTable(), 'hp-host', kube));

  it('client and server spans carry their pods, owners, service.name, zone and the peer', async () => {
    const live = new LiveSpans({ ports: [port] }, { spanBuilder: resolverWithKube() });
    try {
      const curl = await run('sh', inCgroup(checkoutCgroup, `curl -sS -o /dev/null --interface ${CLIENT_IP} http://${SERVER_IP}:${port}/copyright`));
      expect(curl.code, curl.stderr).toBe(0);
      await live.until((s) => s.length >= 2, 'a client and a server span');
      const client = live.spans.find((s) => s.kind === 3)!;
      const srv = live.spans.find((s) => s.kind === 2)!;
      expect(client.name).toBe('GET /copyright');
      expect(client.resource).toMatchObject({
        'k8s.namespace.name': 'shop', 'k8s.pod.name': 'checkout-7c9d4f-x1x2x', 'k8s.pod.uid': checkoutPodUid, 'k8s.container.name': 'main',
        'container.id': CHECKOUT_CID, 'container.runtime': 'containerd', 'k8s.node.name': NODE, 'k8s.replicaset.name': 'checkout-7c9d4f',
        'k8s.deployment.name': 'checkout', 'k8s.cluster.name': 'hp-test', 'cloud.availability_zone': 'eu-west-1b', 'cloud.region': 'eu-west-1',
        'service.name': 'checkout', 'service.namespace': 'shop', 'service.instance.id': 'shop.checkout-7c9d4f-x1x2x.main',
        'process.executable.name': 'curl',
      });
      // curl named the IP in its Host header; the peer is still named by the cluster.
      expect(client.attributes).toMatchObject({ 'server.address': SERVER_IP, 'peer.service': 'cart-api' });
      expect(srv.resource).toMatchObject({
        'k8s.pod.name': 'cart-0', 'k8s.statefulset.name': 'cart', 'k8s.container.name': 'web', 'container.id': CART_CID, 'container.runtime': 'cri-o',
        'service.name': 'cart-api', 'service.instance.id': 'shop.cart-0.web',
      });
      expect(srv.resource).not.toHaveProperty('k8s.deployment.name');
    } finally {
      await live.close();
    }
  }, 60_000);

  it('pod-label filters judge spans by the labels the API server holds, and by the new ones after a relabel', async () => {
    const labelsOfPod = (uid: string) => kube.labelsOfPod(uid);
    // Only the keys the filters name are kept besides the well-known ones (pod-template-hash is not).
    expect(kube.labelsOfPod(checkoutPodUid)).toEqual({ app: 'checkout', tier: 'web', 'example.com/team': 'payments' });
    const exchange = async () => {
      const live = new LiveSpans({ ports: [port] }, { spanBuilder: resolverWithKube() });
      try {
        const curl = await run('sh', inCgroup(checkoutCgroup, `curl -sS -o /dev/null --interface ${CLIENT_IP} http://${SERVER_IP}:${port}/copyright`));
        expect(curl.code, curl.stderr).toBe(0);
        await live.until((s) => s.length >= 2, 'a client and a server span');
        return live.spans;
      } finally {
        await live.close();
      }
    };
    const kinds = (spans: readonly Span[], rule: SpanFilterRule) => new SpanFilter(rule, labelsOfPod).filter(spans).map((s) => s.kind).sort();
    const before = await exchange();
    // Both pods are tier=web; only checkout has a team.
    expect(kinds(before, KEEP_WEB_TEAMS)).toEqual([3]);
    expect(kinds(before, EXCLUDE_CANARIES)).toEqual([2, 3]);
    // Relabel checkout through the API: a canary without a team. The watch brings the change.
    await api.client.patch(`/api/v1/namespaces/shop/pods/checkout-7c9d4f-x1x2x`, { metadata: { labels: { 'example.com/team': null, canary: 'true' } } });
    const deadline = Date.now() + 10_000;
    while (kube.labelsOfPod(checkoutPodUid)?.canary === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(kube.labelsOfPod(checkoutPodUid)).toEqual({ app: 'checkout', tier: 'web', canary: 'true' });
    const after = await exchange();
    expect(kinds(after, KEEP_WEB_TEAMS)).toEqual([]);
    expect(kinds(after, EXCLUDE_CANARIES)).toEqual([2]);
  }, 60_000);

  it('a deleted pod still names a late span within the grace period', async () => {
    await deletePod(api.client, 'shop', 'checkout-7c9d4f-x1x2x');
    const deadline = Date.now() + 10_000;
    while (kube.stats().deletedPodsKept === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(kube.stats()).toMatchObject({ deletedPodsKept: 1 });
    const live = new LiveSpans({ ports: [port] }, { spanBuilder: resolverWithKube() });
    try {
      const curl = await run('sh', inCgroup(checkoutCgroup, `curl -sS -o /dev/null --interface ${CLIENT_IP} http://${SERVER_IP}:${port}/copyright`));
      expect(curl.code, curl.stderr).toBe(0);
      await live.until((s) => s.some((x: Span) => x.kind === 3), 'the late client span');
      expect(live.spans.find((s) => s.kind === 3)!.resource).toMatchObject({ 'k8s.pod.name': 'checkout-7c9d4f-x1x2x', 'k8s.deployment.name': 'checkout' });
    } finally {
      await live.close();
    }
  }, 60_000);
});
