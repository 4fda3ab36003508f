import { afterEach, describe, expect, it } from 'vitest';
import { HealthServer, type Readiness } from './healthServer.ts';
import { createSelfMetrics } from './selfMetrics.ts';
import type { QueuedSinkStats } from '../sinks/queuedSink.ts';
import type { SensorEvent } from '../source/events.ts';
import { Pipeline } from '../pipeline/pipeline.ts';

let server: HealthServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const get = async (path: string) => {
  const r = await fetch(`http://127.0.0.1:${server!.port}${path}`);
  return { status: r.status, type: r.headers.get('content-type'), body: await r.text() };
};

const sink: QueuedSinkStats = { sink: 'otlp', received: 10, sent: 7, retries: 2, dropped: { queueFull: 1, rejected: 1, expired: 0, shutdown: 1 }, droppedMaybeDelivered: 0, possiblyDuplicated: 0, queuedSpans: 0, queuedBatches: 0 };

describe('HealthServer', () => {
  it('says ready only when nothing is waited for, and what is', async () => {
    let readiness: Readiness = { ready: false, waitingFor: ['the probes to attach'] };
    server = await HealthServer.start({ host: '127.0.0.1', port: 0, registry: createSelfMetrics({}), readiness: () => readiness });
    expect(await get('/readyz')).toMatchObject({ status: 503, body: 'not ready: waiting for the probes to attach\n' });
    readiness = { ready: true, waitingFor: [] };
    expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ready\n' });
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get('/nope')).toMatchObject({ status: 404 });
  });

  it('reports a stalled event loop once the loop turns again', async () => {
    server = await HealthServer.start({ host: '127.0.0.1', port: 0, registry: createSelfMetrics({}), readiness: () => ({ ready: true, waitingFor: [] }), stallMs: 300 });
    await new Promise((r) => setTimeout(r, 300)); // let a heartbeat pass
    const end = Date.now() + 700;
    while (Date.now() < end); // block the loop
    const r = await get('/healthz');
    expect(r.status).toBe(503);
    expect(r.body).toMatch(/^event loop stalled for \d+ ms \(limit 300 ms\)\n$/);
    // the stall is reported once; the loop is fine again
    await new Promise((r) => setTimeout(r, 300));
    expect((await get('/healthz')).status).toBe(200);
  });

  it('serves the metrics the sources give at scrape time, in Prometheus text format', async () => {
    let received = 10;
    server = await HealthServer.start({
      host: '127.0.0.1', port: 0, readiness: () => ({ ready: true, waitingFor: [] }),
      registry: createSelfMetrics({
        sinks: () => [{ ...sink, received }],
        sinkCapacity: () => 500,
        kernel: () => ({ names: ['events', 'ringbufLost'], perCpu: [[5n, 0n], [7n, 2n]] }),
        informers: () => ({ pods: 3, services: 2, endpointSlices: 2, watches: { pods: { state: 'watching', lists: 1, gone: 0, errors: 0, silentRestarts: 0 }, services: { state: 'backoff', lists: 2, gone: 1, errors: 4, silentRestarts: 0 } } }),
      }),
    });
    const first = await get('/metrics');
    expect(first.type).toMatch(/^text\/plain; version=0\.0\.4/);
    for (const line of [
      'hydrophone_sink_spans_received_total{sink="otlp"} 10',
      'hydrophone_sink_spans_exported_total{sink="otlp"} 7',
      'hydrophone_sink_retries_total{sink="otlp"} 2',
      'hydrophone_sink_spans_dropped_total{sink="otlp",reason="queue_full"} 1',
      'hydrophone_sink_spans_dropped_total{sink="otlp",reason="shutdown"} 1',
      'hydrophone_sink_queue_capacity_spans{sink="otlp"} 500',
      'hydrophone_kernel_events_total{cpu="1"} 7',
      'hydrophone_kernel_events_lost_total{cpu="1"} 2',
      'hydrophone_kubernetes_watch_up{kind="pods",state="watching"} 1',
      'hydrophone_kubernetes_watch_up{kind="services",state="backoff"} 0',
      'hydrophone_kubernetes_watch_events_total{kind="services",event="errors"} 4',
      'hydrophone_kubernetes_objects{kind="pods"} 3',
    ]) expect(first.body.split('\n')).toContain(line);
    received = 25;
    expect((await get('/metrics')).body.split('\n')).toContain('hydrophone_sink_spans_received_total{sink="otlp"} 25');
  });

  it('shows the bytes the pipeline holds now: up while a head is incomplete, down once it is parsed', async () => {
    const pipeline = new Pipeline({ write: () => {}, close: async () => {} });
    server = await HealthServer.start({
      host: '127.0.0.1', port: 0, readiness: () => ({ ready: true, waitingFor: [] }), registry: createSelfMetrics({ pipeline: () => pipeline.stats() }),
    });
    const open: SensorEvent = {
      type: 'open', tsNs: 1n, pid: 10, tid: 10, conn: 'c', fd: 3, comm: 'curl', role: 'client', origin: 'connect', family: 'ipv4',
      local: { address: '127.0.0.1', port: 50000 }, remote: { address: '127.0.0.1', port: 80 }, cgroupId: 1n,
    };
    const data = (pos: number, text: string): SensorEvent => {
      const payload = Buffer.from(text);
      return { type: 'data', tsNs: 2n, pid: 10, tid: 10, conn: 'c', direction: 'egress', pos, len: payload.length, payload, syscall: 'write', afterLoss: false, lengthOnly: false, tls: false };
    };
    const head = 'GET / HTTP/1.1\r\nHost: x\r\n';
    const gauge = async (stage: string) => (await get('/metrics')).body.split('\n').find((l) => l.startsWith(`hydrophone_stream_buffered_bytes{stage="${stage}"}`));
    pipeline.accept([open, data(0, head)]);
    expect(await gauge('parser')).toBe(`hydrophone_stream_buffered_bytes{stage="parser"} ${head.length}`);
    expect(await gauge('inference')).toBe('hydrophone_stream_buffered_bytes{stage="inference"} 0');
    pipeline.accept([data(head.length, '\r\n')]);
    expect(await gauge('parser')).toBe('hydrophone_stream_buffered_bytes{stage="parser"} 0');
  });

  it('fails to start with the port and the fix when the port is taken', async () => {
    server = await HealthServer.start({ host: '127.0.0.1', port: 0, registry: createSelfMetrics({}), readiness: () => ({ ready: true, waitingFor: [] }) });
    await expect(HealthServer.start({ host: '127.0.0.1', port: server.port, registry: createSelfMetrics({}), readiness: () => ({ ready: true, waitingFor: [] }) }))
      .rejects.toThrow(`health endpoint: cannot listen on 127.0.0.1:${server.port} (EADDRINUSE): choose another --health-port, or 0 to turn it off`);
  });
});
