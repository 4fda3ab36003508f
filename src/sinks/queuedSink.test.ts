import { describe, expect, it } from 'vitest';
import { QueuedSink, DEFAULT_QUEUE_LIMITS, type QueueLimits } from './queuedSink.ts';
import type { BatchExporter, SendOutcome } from './exporter.ts';
import type { Span } from '../spans/span.ts';

function span(i: number): Span {
  return {
    traceId: i.toString(16).padStart(32, '0'),
    spanId: i.toString(16).padStart(16, '0'),
    parentSpanId: '',
    name: `GET /${i}`,
    kind: 2,
    startTimeUnixNano: 1n,
    endTimeUnixNano: 2n,
    attributes: {},
    status: { code: 0 },
    resource: {},
  };
}
const spans = (from: number, n: number) => Array.from({ length: n }, (_, k) => span(from + k));

/** A backend whose answer the test decides, recording what it accepted. */
class ScriptedExporter implements BatchExporter {
  readonly name = 'test';
  accepted: string[] = [];
  batches: number[] = [];
  attempts = 0;
  answer: () => SendOutcome = () => ({ kind: 'sent' });
  delayMs = 0;
  closed = false;
  async send(batch: readonly Span[]): Promise<SendOutcome> {
    this.attempts++;
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const outcome = this.answer();
    if (outcome.kind === 'sent') {
      this.accepted.push(...batch.map((s) => s.spanId));
      this.batches.push(batch.length);
    }
    return outcome;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

const FAST: QueueLimits = {
  ...DEFAULT_QUEUE_LIMITS,
  maxQueuedSpans: 100,
  maxBatchSpans: 10,
  batchTimeoutMs: 20,
  retryInitialMs: 5,
  retryMaxMs: 20,
  retryMaxElapsedMs: 10_000,
  dropLogIntervalMs: 60_000,
};

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('QueuedSink', () => {
  it('batches by size and by time, in order', async () => {
    const ex = new ScriptedExporter();
    const sink = new QueuedSink(ex, FAST, () => {});
    sink.write(spans(0, 25));
    await until(() => ex.accepted.length === 25);
    expect(ex.batches).toEqual([10, 10, 5]);
    expect(ex.accepted).toEqual(spans(0, 25).map((s) => s.spanId));
    await sink.close();
    expect(sink.stats()).toMatchObject({ received: 25, sent: 25, queuedSpans: 0 });
    expect(ex.closed).toBe(true);
  });

  it('retries a retryable failure with the same batch until it goes through', async () => {
    const ex = new ScriptedExporter();
    let failures = 3;
    ex.answer = () => (failures-- > 0 ? { kind: 'retryable', reason: 'UNAVAILABLE' } : { kind: 'sent' });
    const sink = new QueuedSink(ex, FAST, () => {});
    sink.write(spans(0, 10));
    await until(() => ex.accepted.length === 10);
    expect(ex.attempts).toBe(4);
    expect(sink.stats()).toMatchObject({ sent: 10, retries: 3 });
    await sink.close();
  });

  it('honours the backend asking for a pause', async () => {
    const ex = new ScriptedExporter();
    let first = true;
    ex.answer = () => (first ? ((first = false), { kind: 'retryable', reason: 'RESOURCE_EXHAUSTED', retryAfterMs: 200 }) : { kind: 'sent' });
    const sink = new QueuedSink(ex, FAST, () => {});
    const t0 = Date.now();
    sink.write(spans(0, 10));
    await until(() => ex.accepted.length === 10);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190);
    await sink.close();
  });

  it('drops a permanently refused batch once, logs it once with the reason, and goes on', async () => {
    const ex = new ScriptedExporter();
    let n = 0;
    ex.answer = () => (n++ < 2 ? { kind: 'permanent', reason: 'INVALID_ARGUMENT: bad span' } : { kind: 'sent' });
    const lines: string[] = [];
    const sink = new QueuedSink(ex, FAST, (l) => lines.push(l));
    sink.write(spans(0, 30));
    await until(() => ex.accepted.length === 10);
    await sink.close();
    expect(sink.stats().dropped.rejected).toBe(20);
    expect(lines.filter((l) => l.includes('for good'))).toHaveLength(1);
    expect(lines.join('\n')).toContain('INVALID_ARGUMENT: bad span');
    // the second refusal is summed in the drop line at close
    expect(lines.at(-1)).toMatch(/dropped 10 spans: 10 refused/);
  });

  it('counts the spans of a partial success as refused, not sent', async () => {
    const ex = new ScriptedExporter();
    ex.answer = () => ({ kind: 'sent', rejected: 3, rejectedReason: 'span too old' });
    const lines: string[] = [];
    const sink = new QueuedSink(ex, FAST, (l) => lines.push(l));
    sink.write(spans(0, 10));
    await sink.close();
    expect(sink.stats()).toMatchObject({ sent: 7, dropped: { rejected: 3 } });
    expect(lines[0]).toBe('test: the backend refused 3 spans for good: it accepted the request but dropped some of its spans (partial success): span too old');
  });

  it('while the backend is away, keeps the newest spans within the cap and counts exactly what it dropped', async () => {
    const ex = new ScriptedExporter();
    let away = true;
    ex.answer = () => (away ? { kind: 'retryable', reason: 'UNAVAILABLE: connection refused' } : { kind: 'sent' });
    const lines: string[] = [];
    const sink = new QueuedSink(ex, FAST, (l) => lines.push(l));
    for (let i = 0; i < 35; i++) {
      sink.write(spans(i * 10, 10));
      await new Promise((r) => setTimeout(r, 2));
    }
    const stats = sink.stats();
    expect(stats.queuedSpans).toBeLessThanOrEqual(FAST.maxQueuedSpans);
    away = false;
    await until(() => sink.stats().queuedSpans === 0);
    await sink.close();
    const s = sink.stats();
    expect(s.received).toBe(350);
    expect(s.sent + s.dropped.queueFull).toBe(350);
    expect(ex.accepted.length).toBe(s.sent);
    expect(new Set(ex.accepted).size).toBe(ex.accepted.length); // nothing twice
    expect(s.dropped.queueFull).toBeGreaterThanOrEqual(250);
    // the newest spans survived
    expect(ex.accepted).toContain(span(349).spanId);
    expect(lines.join('\n')).toMatch(/dropped \d+ spans: \d+ because the queue was full \(cap 100 spans.*UNAVAILABLE/);
  });

  it('write() never waits for the backend', () => {
    const ex = new ScriptedExporter();
    ex.delayMs = 10_000;
    const sink = new QueuedSink(ex, FAST, () => {});
    const t0 = performance.now();
    for (let i = 0; i < 100; i++) sink.write(spans(i * 10, 10));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(sink.stats().queuedSpans).toBeLessThanOrEqual(FAST.maxQueuedSpans + FAST.maxBatchSpans);
    void sink.close(0);
  });

  it('flushes on close within the deadline and counts what it could not send', async () => {
    const ex = new ScriptedExporter();
    ex.answer = () => ({ kind: 'retryable', reason: 'UNAVAILABLE' });
    const lines: string[] = [];
    const sink = new QueuedSink(ex, FAST, (l) => lines.push(l));
    sink.write(spans(0, 15));
    const t0 = Date.now();
    await sink.close(150);
    expect(Date.now() - t0).toBeLessThan(1500);
    const s = sink.stats();
    expect(s.dropped.shutdown).toBe(15);
    expect(s.queuedSpans).toBe(0);
    expect(lines.join('\n')).toContain('15 not sent before the shutdown deadline');
    sink.write(spans(100, 5));
    expect(sink.stats().dropped.shutdown).toBe(20);
  });

  it('sends everything queued when the backend answers in time at close', async () => {
    const ex = new ScriptedExporter();
    ex.delayMs = 5;
    const sink = new QueuedSink(ex, FAST, () => {});
    sink.write(spans(0, 55));
    await sink.close(2000);
    expect(ex.accepted.length).toBe(55);
    expect(sink.stats().dropped).toEqual({ queueFull: 0, rejected: 0, expired: 0, shutdown: 0 });
  });

  it('counts spans whose timed-out attempt may have arrived: as possibly duplicated when resent, as maybe delivered when dropped', async () => {
    const ex = new ScriptedExporter();
    let n = 0;
    ex.answer = () => (n++ === 0 ? { kind: 'retryable', reason: 'DEADLINE_EXCEEDED', maybeDelivered: true } : { kind: 'sent' });
    const sink = new QueuedSink(ex, FAST, () => {});
    sink.write(spans(0, 10));
    await until(() => ex.accepted.length === 10);
    expect(sink.stats()).toMatchObject({ sent: 10, possiblyDuplicated: 10, droppedMaybeDelivered: 0 });
    ex.answer = () => ({ kind: 'retryable', reason: 'DEADLINE_EXCEEDED', maybeDelivered: true });
    sink.write(spans(100, 10));
    await until(() => sink.stats().retries >= 2);
    await sink.close(50);
    expect(sink.stats()).toMatchObject({ dropped: { shutdown: 10 }, droppedMaybeDelivered: 10 });
  });

  it('refuses limits that cannot hold one batch', () => {
    expect(() => new QueuedSink(new ScriptedExporter(), { ...FAST, maxQueuedSpans: 5 }, () => {})).toThrow(/raise the queue size or lower the batch size/);
  });
});
