import { describe, expect, it } from 'vitest';
import { MetadataStore } from './metadataStore.ts';
import type { SlimEndpointSlice, SlimPod, SlimService } from './slimObjects.ts';

const ID = (n: number) => n.toString(16).padStart(64, '0');
const pod = (n: number, extra: Partial<SlimPod> = {}): SlimPod => ({
  uid: `uid-${n}`, name: `pod-${n}`, namespace: 'ns', nodeName: 'n1', resourceVersion: '1', labels: {}, otelAnnotations: {},
  containers: [{ name: 'app' }], containerIds: new Map([[ID(n), 'app']]), ips: [`10.0.0.${n}`], hostNetwork: false, ...extra,
});
const svc = (name: string, ip: string): SlimService => ({ uid: `s-${name}`, name, namespace: 'ns', resourceVersion: '1', clusterIps: [ip] });
const slice = (uid: string, service: string, addrs: Record<string, string>): SlimEndpointSlice => ({
  uid, name: uid, namespace: 'ns', resourceVersion: '1', serviceName: service,
  addresses: new Map(Object.entries(addrs).map(([ip, podName]) => [ip, { podName }])),
});
const limits = { maxPods: 3, maxServices: 10, maxEndpointSlices: 10, deletedPodGraceMs: 1000 };

describe('metadata store', () => {
  it('finds pods by container id and by IP, and forgets an old IP when the pod changes', () => {
    const s = new MetadataStore(limits, () => 0);
    s.upsertPod(pod(1));
    expect(s.podOfContainer(ID(1))?.name).toBe('pod-1');
    expect(s.ownerOfIp('10.0.0.1')?.pod?.name).toBe('pod-1');
    s.upsertPod(pod(1, { ips: ['10.0.0.9'] }));
    expect(s.ownerOfIp('10.0.0.1')).toBeUndefined();
    expect(s.ownerOfIp('10.0.0.9')?.pod?.name).toBe('pod-1');
  });

  it('never indexes host-network pods by IP (they share the node\'s)', () => {
    const s = new MetadataStore(limits, () => 0);
    s.upsertPod(pod(2, { hostNetwork: true, ips: ['192.168.1.10'] }));
    expect(s.ownerOfIp('192.168.1.10')).toBeUndefined();
    expect(s.podOfContainer(ID(2))?.name).toBe('pod-2');
  });

  it('keeps a deleted pod for the grace period, then forgets it', () => {
    let now = 0;
    const s = new MetadataStore(limits, () => now);
    s.upsertPod(pod(1));
    s.deletePod('uid-1');
    now = 999;
    s.sweep();
    expect(s.podOfContainer(ID(1))?.name).toBe('pod-1');
    expect(s.stats()).toMatchObject({ pods: 0, deletedPodsKept: 1 });
    now = 1000;
    s.sweep();
    expect(s.podOfContainer(ID(1))).toBeUndefined();
    expect(s.stats()).toMatchObject({ pods: 0, deletedPodsKept: 0 });
  });

  it('after a relist, pods that are gone start their grace period', () => {
    let now = 0;
    const s = new MetadataStore(limits, () => now);
    s.upsertPod(pod(1));
    s.upsertPod(pod(2));
    s.retainPods(new Set(['uid-2']));
    now = 2000;
    s.sweep();
    expect(s.podOfContainer(ID(1))).toBeUndefined();
    expect(s.podOfContainer(ID(2))?.name).toBe('pod-2');
  });

  it('counts what does not fit instead of growing, and makes room from expired pods first', () => {
    let now = 0;
    const s = new MetadataStore(limits, () => now);
    for (const n of [1, 2, 3, 4]) s.upsertPod(pod(n));
    expect(s.stats()).toMatchObject({ pods: 3, droppedOverCap: 1 });
    s.deletePod('uid-1');
    now = 5000;
    s.upsertPod(pod(5));
    expect(s.podOfContainer(ID(5))?.name).toBe('pod-5');
    expect(s.stats()).toMatchObject({ pods: 3, droppedOverCap: 1 });
  });

  it('names Services by ClusterIP and by endpoint, and the pod behind an endpoint', () => {
    const s = new MetadataStore(limits, () => 0);
    s.upsertService(svc('cart', '10.96.0.10'));
    s.upsertPod(pod(7));
    s.upsertEndpointSlice(slice('es1', 'cart', { '10.0.0.7': 'pod-7', '10.0.0.8': 'pod-8' }));
    expect(s.ownerOfIp('10.96.0.10')).toEqual({ service: { namespace: 'ns', name: 'cart' } });
    expect(s.ownerOfIp('10.0.0.7')).toMatchObject({ pod: { name: 'pod-7' }, service: { name: 'cart' } });
    expect(s.ownerOfIp('10.0.0.8')).toEqual({ service: { namespace: 'ns', name: 'cart' } });
    s.deleteEndpointSlice('es1');
    expect(s.ownerOfIp('10.0.0.8')).toBeUndefined();
    s.retainServices(new Set());
    expect(s.ownerOfIp('10.96.0.10')).toBeUndefined();
  });
});
