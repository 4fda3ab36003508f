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
