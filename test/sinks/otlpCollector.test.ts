/**
 * The OTLP/gRPC sink (QueuedSink + OtlpGrpcExporter) against a real
 * OpenTelemetry Collector whose receiver requires a client certificate and
 * basic auth (test/support/otelCollector.ts): what its file exporter wrote
 * equals what we sent; a CA that does not sign the collector's certificate
 * and a wrong password give clear reasons and never a crash; a collector
 * restarted mid-stream loses nothing within the queue cap, and a longer
 * outage loses exactly what the counters say.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { otelCollectorUnavailableReason, startOtelCollector, type OtelCollector } from '../support/otelCollector.ts';
import { makeTestPki } from '../support/testPki.ts';
import { OtlpGrpcExporter } from '../../src/sinks/otlp/otlpGrpcExporter.ts';
import type { OtlpSinkConfig } from '../../src/sinks/otlp/otlpConfig.ts';
import { QueuedSink, DEFAULT_QUEUE_LIMITS, type QueueLimits } from '../../src/sinks/queuedSink.ts';
import { SENSOR_NAME, SENSOR_VERSION } from '../../src/sensorIdentity.ts';
import { syntheticSpans } from '../support/syntheticSpans.ts';

const skipReason = otelCollectorUnavailableReason();
if (skipReason) process.stderr.write(`[hydrophone] skipping the OTLP sink tests against a real collector: ${skipReason}\n`);

const LIMITS: QueueLimits = {
  ...DEFAULT_QUEUE_LIMITS,
  maxQueuedSpans: 5_000,
  maxBatchSpans: 100,
  batchTimeoutMs: 50,
  sendTimeoutMs: 3_000,
  retryInitialMs: 50,
  retryMaxMs: 300,
  dropLogIntervalMs: 60_000,
};

describe.skipIf(skipReason)('OTLP/gRPC sink to a real OpenTelemetry Collector', () => {
  let collector: OtelCollector;
  let dir: string;
  const files = { ca: '', cert: '', key: '', password: '', wrongPassword: '' };

  beforeAll(async () => {
    collector = await startOtelCollector();
    dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-otlp-sink-'));
    for (const [name, text] of [['ca', collector.caPem], ['cert', collector.clientCertPem], ['key', collector.clientKeyPem], ['password', collector.password], ['wrongPassword', 'not-the-password']] as const) {
      files[name] = path.join(dir, name);
      await writeFile(files[name], text, { mode: 0o600 });
    }
  }, 60_000);
  afterAll(async () => {
    await collector?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const config = (overrides: Partial<OtlpSinkConfig> = {}): OtlpSinkConfig => ({
    endpoint: collector.endpoint,
    allowPlaintext: false,
    tls: { caFile: files.ca, certFile: files.cert, keyFile: files.key },
    auth: { kind: 'basic', username: collector.user, passwordFile: files.password },
    compression: 'gzip',
    timeoutMs: 3_000,
    ...overrides,
  });

  it('delivers every span with its ids, times, attributes, resource and scope', async () => {
    const before = (await collector.readSpans()).length;
    const spans = syntheticSpans(250, { seed: 1 });
    const sink = new QueuedSink(new OtlpGrpcExporter(config(), () => {}), LIMITS, () => {});
    sink.write(spans.slice(0, 120));
    sink.write(spans.slice(120));
    await sink.close(10_000);
    expect(sink.stats()).toMatchObject({ received: 250, sent: 250, dropped: { queueFull: 0, rejected: 0, expired: 0, shutdown: 0 } });
    const got = (await collector.waitForSpans(before + 250)).slice(before);
    expect(got).toHaveLength(250);
    const byId = new Map(got.map((g) => [g.spanId, g]));
    for (const s of spans) {
      const g = byId.get(s.spanId);
      expect(g, s.spanId).toBeDefined();
      expect({
        traceId: g!.traceId, parentSpanId: g!.parentSpanId, name: g!.name, kind: g!.kind,
        start: g!.startTimeUnixNano, end: g!.endTimeUnixNano, attributes: g!.attributes, resource: g!.resource,
        scope: { name: g!.scope.name, version: g!.scope.version }, status: g!.status.code,
      }).toEqual({
        traceId: s.traceId, parentSpanId: s.parentSpanId, name: s.name, kind: s.kind,
        start: s.startTimeUnixNano, end: s.endTimeUnixNano, attributes: s.attributes, resource: s.resource,
        scope: { name: SENSOR_NAME, version: SENSOR_VERSION }, status: s.status.code,
      });
    }
  });

  it('with a CA that does not sign the collector\'s certificate: retries, says why, drops nothing silently', async () => {
    const pki = await makeTestPki(path.join(dir, 'other-pki'));
    const lines: string[] = [];
    const sink = new QueuedSink(new OtlpGrpcExporter(config({ tls: { caFile: pki.caFile, certFile: files.cert, keyFile: files.key } }), () => {}), LIMITS, (l) => lines.push(l));
    sink.write(syntheticSpans(10, { seed: 2 }));
    await waitFor(() => sink.stats().retries >= 2);
    await sink.close(200);
    const s = sink.stats();
    expect(s.sent).toBe(0);
    expect(s.dropped.shutdown).toBe(10);
    expect(lines.join('\n')).toMatch(/otlp: dropped 10 spans: 10 not sent before the shutdown deadline \(last error: UNAVAILABLE: .*(certificate|verify)/i);
  });

  it('with a wrong password: refused for good, logged once with the reason, the next batches counted', async () => {
    const lines: string[] = [];
    const sink = new QueuedSink(new OtlpGrpcExporter(config({ auth: { kind: 'basic', username: collector.user, passwordFile: files.wrongPassword } }), () => {}), { ...LIMITS, maxBatchSpans: 5 }, (l) => lines.push(l));
    sink.write(syntheticSpans(20, { seed: 3 }));
    await sink.close(5_000);
    expect(sink.stats()).toMatchObject({ sent: 0, retries: 0, dropped: { rejected: 20 } });
    const refusals = lines.filter((l) => l.includes('for good'));
    expect(refusals).toHaveLength(1);
    expect(refusals[0]).toMatch(/UNAUTHENTICATED.*check the basic-auth user and password/);
    expect(lines.join('\n')).not.toContain('not-the-password');
  });

  it('loses nothing within the queue cap when the collector restarts mid-stream, and nothing arrives twice', async () => {
    const before = (await collector.readSpans()).length;
    const sink = new QueuedSink(new OtlpGrpcExporter(config(), () => {}), LIMITS, () => {});
    const spans = syntheticSpans(1_500, { seed: 4 });
    for (let i = 0; i < 500; i += 50) sink.write(spans.slice(i, i + 50));
    await waitFor(() => sink.stats().sent >= 300);
    await collector.halt();
    for (let i = 500; i < 1_500; i += 50) {
      sink.write(spans.slice(i, i + 50));
      await new Promise((r) => setTimeout(r, 20));
    }
    await collector.start();
    await waitFor(() => sink.stats().queuedSpans === 0, 30_000);
    await sink.close(5_000);
    const s = sink.stats();
    expect(s.retries).toBeGreaterThan(0);
    expect(s.sent).toBe(1_500);
    const got = (await collector.waitForSpans(before + 1_500, 15_000)).slice(before);
    const ids = got.map((g) => g.spanId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(new Set(ids)).toEqual(new Set(spans.map((x) => x.spanId)));
  }, 60_000);

  it('during an outage longer than the queue holds, the spans missing are exactly the ones counted as dropped', async () => {
    const before = (await collector.readSpans()).length;
    const sink = new QueuedSink(new OtlpGrpcExporter(config(), () => {}), { ...LIMITS, maxQueuedSpans: 300 }, () => {});
    await collector.halt();
    const spans = syntheticSpans(1_000, { seed: 5 });
    for (let i = 0; i < 1_000; i += 50) {
      sink.write(spans.slice(i, i + 50));
      await new Promise((r) => setTimeout(r, 10));
    }
    await collector.start();
    await waitFor(() => sink.stats().queuedSpans === 0, 30_000);
    await sink.close(5_000);
    const s = sink.stats();
    expect(s.dropped.queueFull).toBeGreaterThanOrEqual(600);
    expect(s.sent + s.dropped.queueFull).toBe(1_000);
    const got = (await collector.waitForSpans(before + s.sent, 15_000)).slice(before);
    // Let a straggler show itself before counting.
    await new Promise((r) => setTimeout(r, 300));
    const arrived = new Set((await collector.readSpans()).slice(before).map((g) => g.spanId));
    expect(got.length).toBeGreaterThanOrEqual(s.sent);
    const missing = spans.filter((x) => !arrived.has(x.spanId)).length;
    expect(missing).toBe(s.dropped.queueFull);
    expect(arrived.size).toBe(s.sent);
  }, 60_000);
});

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
