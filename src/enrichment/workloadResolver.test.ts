import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KubeConfig } from '@kubernetes/client-node';
import { ProcessTable } from './processTable.ts';
import { WorkloadResolver } from './workloadResolver.ts';
import { KubernetesMetadata } from './kubernetes/kubernetesMetadata.ts';
import type { SlimPod } from './kubernetes/slimObjects.ts';

const CID = 'c0ffee'.padEnd(64, '0');
const UID = '1b2c3d4e-5f60-7182-9304-a5b6c7d8e9f0';

// A /proc of our own: a process in a kubelet-shaped cgroup.
const root = mkdtempSync(path.join(tmpdir(), 'hp-proc-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
function fakeProcess(pid: number, exe: string, cgroup: string, cmdline = ''): void {
  mkdirSync(path.join(root, String(pid)));
  symlinkSync(exe, path.join(root, String(pid), 'exe'));
  writeFileSync(path.join(root, String(pid), 'cgroup'), cgroup);
  writeFileSync(path.join(root, String(pid), 'cmdline'), cmdline);
}
fakeProcess(100, '/usr/local/bin/checkout', `0::/kubepods.slice/kubepods-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${CID}.scope\n`, 'checkout\0--token=s3cret\0');
fakeProcess(200, '/usr/sbin/nginx', '0::/system.slice/nginx.service\n');

const kubeConfig = () => {
  const kc = new KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }], users: [{ name: 'u' }], contexts: [{ name: 'x', cluster: 'c', user: 'u' }], currentContext: 'x' });
  return kc;
};

const pod: SlimPod = {
  uid: UID, name: 'checkout-6d5f-abcde', namespace: 'shop', nodeName: 'node-1', resourceVersion: '5', labels: { 'app.kubernetes.io/name': 'checkout' },
  otelAnnotations: {}, owner: { kind: 'ReplicaSet', name: 'checkout-6d5f' }, containers: [{ name: 'main' }], containerIds: new Map([[CID, 'main']]), ips: ['10.1.0.5'], hostNetwork: false,
};

describe('workload resolver', () => {
  it('host mode: process and host attributes, the container from the cgroup, no command line unless asked', () => {
    const r = new WorkloadResolver(new ProcessTable({ procRoot: root }), 'host-a');
    r.observe(100, 'checkout');
    expect(r.resourceOf(100, 'checkout')).toEqual({
      'service.name': 'checkout', 'process.pid': 100, 'process.executable.name': 'checkout', 'process.executable.path': '/usr/local/bin/checkout',
      'host.name': 'host-a', 'container.id': CID, 'container.runtime': 'containerd', 'k8s.pod.uid': UID,
    });
    r.observe(200, 'nginx');
    expect(r.resourceOf(200, 'nginx')).not.toHaveProperty('container.id');
    const withCmd = new WorkloadResolver(new ProcessTable({ procRoot: root, commandLine: true }), 'host-a');
    withCmd.observe(100, 'checkout');
    expect(withCmd.resourceOf(100, 'checkout')['process.command_line']).toBe('checkout --token=s3cret');
  });

  it('a pod that arrives after the first span names the next ones; its owner\'s owner too', () => {
    const kube = new KubernetesMetadata(kubeConfig(), { nodeName: 'node-1', clusterName: 'prod-eu' });
    const r = new WorkloadResolver(new ProcessTable({ procRoot: root }), 'host-a', kube);
    r.observe(100, 'checkout');
    expect(r.resourceOf(100, 'checkout')['service.name']).toBe('checkout');
    expect(r.resourceOf(100, 'checkout')).not.toHaveProperty('k8s.pod.name');
    kube.store.upsertPod(pod);
    kube.version++;
    expect(r.resourceOf(100, 'checkout')).toMatchObject({
      'k8s.pod.name': 'checkout-6d5f-abcde', 'k8s.namespace.name': 'shop', 'k8s.container.name': 'main', 'k8s.node.name': 'node-1',
      'k8s.replicaset.name': 'checkout-6d5f', 'k8s.cluster.name': 'prod-eu', 'service.name': 'checkout', 'service.namespace': 'shop',
      'service.instance.id': 'shop.checkout-6d5f-abcde.main',
    });
    expect(r.resourceOf(100, 'checkout')).not.toHaveProperty('k8s.deployment.name');
    kube.store.setTopOwner('shop', pod.owner!, { kind: 'Deployment', name: 'checkout' });
    kube.store.node = { name: 'node-1', zone: 'eu-west-1a' };
    kube.version++;
    expect(r.resourceOf(100, 'checkout')).toMatchObject({ 'k8s.deployment.name': 'checkout', 'cloud.availability_zone': 'eu-west-1a' });
    // Complete now: the same frozen object for every later span.
    expect(r.resourceOf(100, 'checkout')).toBe(r.resourceOf(100, 'checkout'));
    kube.stop();
  });

  it('names the peer of a client span: the Service DNS name and the peer\'s service.name', () => {
    const kube = new KubernetesMetadata(kubeConfig(), { nodeName: 'node-1' });
    kube.store.upsertService({ uid: 's', name: 'cart', namespace: 'shop', resourceVersion: '1', clusterIps: ['10.96.3.4'] });
    kube.store.upsertPod(pod);
    const r = new WorkloadResolver(new ProcessTable({ procRoot: root }), 'host-a', kube);
    expect(r.peerOf('10.96.3.4')).toEqual({ serverAddress: 'cart.shop.svc.cluster.local', peerService: 'cart' });
    expect(r.peerOf('10.1.0.5')).toEqual({ peerService: 'checkout' });
    expect(r.peerOf('8.8.8.8')).toBeUndefined();
    kube.stop();
  });
});
