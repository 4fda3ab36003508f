import { describe, expect, it } from 'vitest';
import { serviceIdentity } from './serviceName.ts';
import type { SlimContainer, SlimPod } from './slimObjects.ts';

const basePod: SlimPod = {
  uid: 'u1', name: 'checkout-7d4b9c-x2x9z', namespace: 'shop', nodeName: 'n1', resourceVersion: '1',
  labels: {}, otelAnnotations: {}, containers: [], containerIds: new Map(), ips: [], hostNetwork: false,
};
const c = (extra: Partial<SlimContainer> = {}): SlimContainer => ({ name: 'app', ...extra });

// Each row adds one source over the previous rows' weaker ones: the strongest present wins.
const CASES: ReadonlyArray<readonly [string, Partial<SlimPod>, SlimContainer | undefined, string | undefined, string]> = [
  ['the pod name when nothing else is known', {}, undefined, undefined, 'checkout-7d4b9c-x2x9z'],
  ['the container name', {}, c(), undefined, 'app'],
  ['the owner name over the container name', {}, c(), 'checkout', 'checkout'],
  ['label app over the owner', { labels: { app: 'checkout-app' } }, c(), 'checkout', 'checkout-app'],
  ['app.kubernetes.io/name over app', { labels: { app: 'x', 'app.kubernetes.io/name': 'checkout-k8s' } }, c(), 'checkout', 'checkout-k8s'],
  ['the annotation over labels', { labels: { 'app.kubernetes.io/name': 'x' }, otelAnnotations: { 'resource.opentelemetry.io/service.name': 'checkout-ann' } }, c(), 'checkout', 'checkout-ann'],
  ['OTEL_RESOURCE_ATTRIBUTES over the annotation', { otelAnnotations: { 'resource.opentelemetry.io/service.name': 'x' } }, c({ otelResourceAttributes: { 'service.name': 'checkout-ra' } }), 'checkout', 'checkout-ra'],
  ['OTEL_SERVICE_NAME over everything', { otelAnnotations: { 'resource.opentelemetry.io/service.name': 'x' } }, c({ otelServiceName: 'checkout-env', otelResourceAttributes: { 'service.name': 'y' } }), 'checkout', 'checkout-env'],
];

describe('service.name of a container', () => {
  it.each(CASES)('%s', (_name, pod, container, owner, want) => {
    expect(serviceIdentity({ ...basePod, ...pod }, container, owner).name).toBe(want);
  });
});

describe('service.namespace, version and instance id', () => {
  it('default to the Kubernetes namespace and namespace.pod.container', () => {
    expect(serviceIdentity(basePod, c(), undefined)).toEqual({ name: 'app', namespace: 'shop', instanceId: 'shop.checkout-7d4b9c-x2x9z.app' });
  });

  it('take the workload\'s own word first', () => {
    const pod = { ...basePod, labels: { 'app.kubernetes.io/version': '1.2.3' }, otelAnnotations: { 'resource.opentelemetry.io/service.namespace': 'ann-ns' } };
    const id = serviceIdentity(pod, c({ otelResourceAttributes: { 'service.instance.id': 'i-1', 'service.version': '2.0' } }), undefined);
    expect(id).toEqual({ name: 'app', namespace: 'ann-ns', version: '2.0', instanceId: 'i-1' });
  });
});
