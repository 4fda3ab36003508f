import { describe, expect, it } from 'vitest';
import { SpanFilter, type SpanFilterRule } from './spanFilter.ts';
import type { Span } from './span.ts';

const span = (resource: Record<string, string | number>, attributes: Record<string, string | number>): Span => ({
  traceId: '1'.repeat(32), spanId: '2'.repeat(16), parentSpanId: '', name: 'x', kind: 2, startTimeUnixNano: 1n, endTimeUnixNano: 2n,
  attributes, status: { code: 0 }, resource,
});
const http1 = { 'network.protocol.name': 'http', 'network.protocol.version': '1.1' };
const http2 = { 'network.protocol.name': 'http', 'network.protocol.version': '2' };
const grpc = { ...http2, 'rpc.system': 'grpc' };
const shop = { 'k8s.namespace.name': 'shop', 'process.executable.name': 'node' };
const system = { 'k8s.namespace.name': 'kube-system', 'process.executable.name': 'coredns' };
const host = { 'process.executable.name': 'nginx' };
const none: SpanFilterRule = { namespaces: [], excludeNamespaces: [], processes: [], protocols: [] };

describe('SpanFilter', () => {
  it.each([
    ['no rule keeps all', none, [true, true, true, true]],
    ['namespaces keep only pods there (host processes have none)', { ...none, namespaces: ['shop'] }, [true, false, false, true]],
    ['excluded namespaces drop only those', { ...none, excludeNamespaces: ['kube-system'] }, [true, false, true, true]],
    ['processes by executable name', { ...none, processes: ['nginx', 'coredns'] }, [false, true, true, false]],
    ['protocols', { ...none, protocols: ['grpc'] }, [false, false, false, true]],
    ['http1 is not http2', { ...none, protocols: ['http2'] }, [false, true, false, false]],
  ] as const)('%s', (_name, rule, expected) => {
    const f = new SpanFilter(rule);
    const spans = [span(shop, http1), span(system, http2), span(host, http1), span(shop, grpc)];
    expect(spans.map((s) => f.keeps(s))).toEqual(expected);
    expect(f.filter(spans)).toHaveLength(expected.filter(Boolean).length);
    expect(f.filtered).toBe(expected.filter((k) => !k).length);
    expect(f.active).toBe(rule !== none);
  });
});

describe('SpanFilter by pod labels', () => {
  // Labels as the Kubernetes metadata answers by pod uid; 'gone' is a pod uid it does not know.
  const pods: Record<string, Record<string, string>> = {
    checkout: { app: 'checkout', tier: 'web' },
    debugger: { app: 'checkout', tier: 'debug', canary: '' },
    cart: { 'app.kubernetes.io/name': 'cart-store' },
  };
  const lookup = (uid: string) => pods[uid];
  const inPod = (uid: string) => span({ 'k8s.pod.uid': uid, 'k8s.namespace.name': 'shop', 'process.executable.name': 'node' }, http1);
  const spans = [inPod('checkout'), inPod('debugger'), inPod('cart'), inPod('gone'), span(host, http1)];

  it.each([
    ['an equality keeps only the pods that have it', { podLabels: ['app=checkout'] }, [true, true, false, false, false]],
    ['requirements are ANDed', { podLabels: ['app=checkout', 'tier!=debug'] }, [true, false, false, false, false]],
    ['!= also keeps pods without the label, never host processes or unknown pods', { podLabels: ['tier!=debug'] }, [true, false, true, false, false]],
    ['exists', { podLabels: ['tier'] }, [true, true, false, false, false]],
    ['does not exist', { podLabels: ['!canary'] }, [true, false, true, false, false]],
    ['a prefixed key', { podLabels: ['app.kubernetes.io/name=cart-store'] }, [false, false, true, false, false]],
    ['exclusions drop pods meeting any one, keep host processes and unknown pods', { excludePodLabels: ['canary', 'app.kubernetes.io/name=cart-store'] }, [true, false, false, true, true]],
    ['keep and exclude together', { podLabels: ['app=checkout'], excludePodLabels: ['tier=debug'] }, [true, false, false, false, false]],
    ['with namespaces', { namespaces: ['kube-system'], podLabels: ['app=checkout'] }, [false, false, false, false, false]],
  ] as const)('%s', (_name, extra, expected) => {
    const f = new SpanFilter({ ...none, ...extra }, lookup);
    expect(spans.map((s) => f.keeps(s))).toEqual(expected);
    expect(f.filter(spans)).toHaveLength(expected.filter(Boolean).length);
    expect(f.filtered).toBe(expected.filter((k) => !k).length);
    expect(f.active).toBe(true);
  });

  it('without a source of labels (host mode) no pod is known: a keep rule drops every span, an exclusion none', () => {
    expect(spans.map((s) => new SpanFilter({ ...none, podLabels: ['!canary'] }).keeps(s))).toEqual([false, false, false, false, false]);
    expect(spans.map((s) => new SpanFilter({ ...none, excludePodLabels: ['app=checkout'] }).keeps(s))).toEqual([true, true, true, true, true]);
  });

  it('labels are looked up when the span is filtered: a pod relabelled meanwhile is judged by its new labels', () => {
    const live: Record<string, Record<string, string>> = { p: { tier: 'web' } };
    const f = new SpanFilter({ ...none, podLabels: ['tier=web'] }, (uid) => live[uid]);
    expect(f.keeps(inPod('p'))).toBe(true);
    live.p = { tier: 'debug' };
    expect(f.keeps(inPod('p'))).toBe(false);
  });

  it('refuses a malformed requirement rather than matching nothing', () => {
    expect(() => new SpanFilter({ ...none, podLabels: ['app in (a,b)'] }, lookup)).toThrow(/set-based requirements/);
  });
});
