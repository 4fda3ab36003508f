import { describe, expect, it } from 'vitest';
import { SpanSampler, traceRandomness } from './spanSampler.ts';
import type { Span } from './span.ts';

const span = (traceId: string, error = false): Span => ({
  traceId, spanId: '1'.repeat(16), parentSpanId: '', name: 'GET /', kind: 2, startTimeUnixNano: 1n, endTimeUnixNano: 2n,
  attributes: {}, status: error ? { code: 2 } : { code: 0 }, resource: {},
});
const traceIds = (n: number) => Array.from({ length: n }, (_, i) => (BigInt(i) * 0x9e3779b97f4a7c15n % (1n << 128n)).toString(16).padStart(32, '0'));

describe('traceRandomness', () => {
  it.each([
    ['00000000000000000000000000000000', 0],
    ['ffffffffffffffffff00000000000000', 0],
    ['000000000000000000ffffffffffffff', (2 ** 56 - 1) / 2 ** 56],
    ['00000000000000000080000000000000', 0.5],
  ])('%s -> %d', (id, r) => expect(traceRandomness(id)).toBe(r));
});

describe('SpanSampler', () => {
  it('keeps about the ratio of traces, and every span of a kept trace', () => {
    const sampler = new SpanSampler({ ratio: 0.25, maxPerSecond: 0 });
    const ids = traceIds(4000);
    const kept = sampler.filter(ids.flatMap((id) => [span(id), span(id)]));
    const keptTraces = new Set(kept.map((s) => s.traceId));
    expect(keptTraces.size / ids.length).toBeGreaterThan(0.22);
    expect(keptTraces.size / ids.length).toBeLessThan(0.28);
    expect(kept.length).toBe(2 * keptTraces.size);
    expect(sampler.stats.droppedByRatio).toBe(8000 - kept.length);
  });

  it('decides the same for a trace id whatever the sampler instance (every node agrees)', () => {
    const ids = traceIds(500);
    const a = new SpanSampler({ ratio: 0.5, maxPerSecond: 0 }).filter(ids.map((id) => span(id))).map((s) => s.traceId);
    const b = new SpanSampler({ ratio: 0.5, maxPerSecond: 0 }).filter(ids.map((id) => span(id))).map((s) => s.traceId);
    expect(a).toEqual(b);
  });

  it('keeps error spans whatever the ratio and the ceiling', () => {
    const sampler = new SpanSampler({ ratio: 0, maxPerSecond: 1 });
    const kept = sampler.filter([span(traceIds(3)[1]!, true), span(traceIds(3)[2]!), span(traceIds(3)[0]!, true)]);
    expect(kept.map((s) => s.status.code)).toEqual([2, 2]);
    expect(sampler.stats).toEqual({ kept: 2, keptErrors: 2, droppedByRatio: 1, droppedByRate: 0 });
  });

  it('sheds beyond the ceiling within a second and counts it, then refills', () => {
    let now = 0;
    const sampler = new SpanSampler({ ratio: 1, maxPerSecond: 100 }, () => now);
    expect(sampler.filter(traceIds(150).map((id) => span(id)))).toHaveLength(100);
    expect(sampler.filter(traceIds(10).map((id) => span(id)))).toHaveLength(0);
    expect(sampler.stats.droppedByRate).toBe(60);
    now = 1000;
    expect(sampler.filter(traceIds(10).map((id) => span(id)))).toHaveLength(10);
  });

  it('is inactive (and left out of the pipeline) when it would keep everything', () => {
    expect(new SpanSampler({ ratio: 1, maxPerSecond: 0 }).active).toBe(false);
    expect(() => new SpanSampler({ ratio: 1.5, maxPerSecond: 0 })).toThrow(/from 0 to 1/);
  });
});
