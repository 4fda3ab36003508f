/**
 * The real OpenTelemetry Collector the OTLP exporter tests send to
 * (test/support/otelCollector.ts): one span exported over gRPC with TLS, a
 * client certificate and basic auth arrives in the file exporter's output
 * with its ids, name, times and attributes; a wrong password is refused
 * with UNAUTHENTICATED, a client certificate from another CA (or none) at
 * the TLS handshake; a restart keeps what arrived. The request is a
 * hand-encoded ExportTraceServiceRequest sent as raw bytes, so neither the
 * OTLP protos nor our exporter is involved. Skipped, with the reason
 * printed, when the collector is not built (sh test/peers/otelcol/prepare.sh).
 */
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { otelCollectorUnavailableReason, startOtelCollector, type OtelCollector } from '../../support/otelCollector.ts';

const skipReason = otelCollectorUnavailableReason();
const EXPORT_METHOD = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

describe.skipIf(skipReason)('a real OpenTelemetry Collector over OTLP/gRPC', () => {
  let collector: OtelCollector;
  beforeAll(async () => {
    collector = await startOtelCollector();
    process.stderr.write(`[hydrophone] OpenTelemetry Collector ready in ${collector.startupMs} ms on ${collector.endpoint}\n`);
  });
  afterAll(async () => {
    await collector?.stop();
  });

  const goodIdentity = () => ({ certPem: collector.clientCertPem, keyPem: collector.clientKeyPem });

  it('receives a span sent with the client certificate and basic auth', async () => {
    const span = testSpan('a1a2a3a4a5a6a7a8a9aaabacadaeaf00', 'b1b2b3b4b5b6b7b8', 'GET /checkout');
    const result = await exportOnce(collector, goodIdentity(), collector.password, encodeExportRequest(span));
    expect(result).toEqual({ code: grpc.status.OK, details: 'OK', response: expect.any(Buffer) });

    const [got] = await collector.waitForSpans(1, 5_000);
    expect(got).toMatchObject({
      resource: { 'service.name': 'hydrophone-collector-test' },
      scope: { name: 'hydrophone', version: '0.0.0-test' },
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: '',
      name: span.name,
      kind: 2,
      startTimeUnixNano: span.startTimeUnixNano,
      endTimeUnixNano: span.endTimeUnixNano,
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 503 },
      status: { code: 2, message: 'upstream unavailable' },
    });
  });

  it('answers a wrong password with UNAUTHENTICATED', async () => {
    const span = testSpan('c1c2c3c4c5c6c7c8c9cacbcccdcecf00', 'd1d2d3d4d5d6d7d8', 'wrong password');
    const result = await exportOnce(collector, goodIdentity(), `not-${collector.password}`, encodeExportRequest(span));
    expect(result).toEqual({ code: grpc.status.UNAUTHENTICATED, details: 'invalid credentials' });
  });

  it('refuses a client certificate from another CA at the handshake', async () => {
    const span = testSpan('e1e2e3e4e5e6e7e8e9eaebecedeeef00', 'f1f2f3f4f5f6f7f8', 'foreign certificate');
    const result = await exportOnce(collector, collector.foreignClient, collector.password, encodeExportRequest(span));
    // TLS 1.3: Go's server checks the client's chain after sending its
    // Finished, so the refusal is an alert on the client's first read.
    expect(result.code).toBe(grpc.status.UNAVAILABLE);
    expect(result.details).toMatch(/alert unknown ca|alert bad certificate/i);
  });

  it('refuses a client without a certificate', async () => {
    const span = testSpan('01020304050607080900aabbccddeeff', '0102030405060708', 'no certificate');
    const result = await exportOnce(collector, undefined, collector.password, encodeExportRequest(span));
    expect(result.code).toBe(grpc.status.UNAVAILABLE);
    expect(result.details).toMatch(/alert certificate required|alert bad certificate/i);
  });

  it('keeps what arrived across a restart on the same port', async () => {
    const restartMs = await collector.restart();
    process.stderr.write(`[hydrophone] OpenTelemetry Collector restarted in ${restartMs} ms\n`);
    const span = testSpan('11111111111111111111111111111111', '2222222222222222', 'after restart');
    const result = await exportOnce(collector, goodIdentity(), collector.password, encodeExportRequest(span));
    expect(result.code).toBe(grpc.status.OK);
    const spans = await collector.waitForSpans(2, 5_000);
    // Only the accepted spans, in order: the refused ones never reached the pipeline.
    expect(spans.map((s) => s.name)).toEqual(['GET /checkout', 'after restart']);
  });
});

// ---- one raw unary call ----

interface CallResult {
  code: grpc.status;
  details: string;
  response?: Buffer;
}

/** One Export call on a fresh channel (TLS verified against the collector's CA), closed afterwards. */
async function exportOnce(collector: OtelCollector, identity: { certPem: string; keyPem: string } | undefined, password: string, request: Buffer): Promise<CallResult> {
  const creds = grpc.credentials.createSsl(
    Buffer.from(collector.caPem),
    identity ? Buffer.from(identity.keyPem) : null,
    identity ? Buffer.from(identity.certPem) : null,
  );
  const client = new grpc.Client(collector.endpoint, creds);
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Basic ${Buffer.from(`${collector.user}:${password}`).toString('base64')}`);
  try {
    return await new Promise<CallResult>((resolve) => {
      client.makeUnaryRequest(EXPORT_METHOD, (b: Buffer) => b, (b: Buffer) => b, request, metadata, { deadline: Date.now() + 5_000 },
        (err: grpc.ServiceError | null, response?: Buffer) => {
          if (err) resolve({ code: err.code, details: err.details });
          else resolve({ code: grpc.status.OK, details: 'OK', response: response ?? Buffer.alloc(0) });
        });
    });
  } finally {
    client.close();
  }
}

// ---- a minimal OTLP protobuf encoder (opentelemetry/proto/trace/v1, collector/trace/v1) ----

interface TestSpan {
  traceId: string;
  spanId: string;
  name: string;
  startTimeUnixNano: bigint;
  endTimeUnixNano: bigint;
}

function testSpan(traceId: string, spanId: string, name: string): TestSpan {
  // Fixed times, nanosecond-exact beyond 2^53: 2026-01-02T03:04:05.123456789Z and 2.5 ms later.
  const startTimeUnixNano = 1_767_323_045_123_456_789n;
  return { traceId, spanId, name, startTimeUnixNano, endTimeUnixNano: startTimeUnixNano + 2_500_000n };
}

function varint(n: bigint | number): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v > 0n ? byte | 0x80 : byte);
  } while (v > 0n);
  return Buffer.from(out);
}
const key = (field: number, wireType: 0 | 1 | 2) => varint((field << 3) | wireType);
const lengthDelimited = (field: number, bytes: Buffer) => Buffer.concat([key(field, 2), varint(bytes.length), bytes]);
const stringField = (field: number, s: string) => lengthDelimited(field, Buffer.from(s, 'utf8'));
const varintField = (field: number, n: bigint | number) => Buffer.concat([key(field, 0), varint(n)]);
function fixed64Field(field: number, n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return Buffer.concat([key(field, 1), b]);
}
// KeyValue { key = 1; AnyValue value = 2 }, AnyValue { string_value = 1; int_value = 3 }
const stringAttribute = (k: string, v: string) => Buffer.concat([stringField(1, k), lengthDelimited(2, stringField(1, v))]);
const intAttribute = (k: string, v: number) => Buffer.concat([stringField(1, k), lengthDelimited(2, varintField(3, v))]);

/**
 * ExportTraceServiceRequest { resource_spans = 1 } with one ResourceSpans
 * { resource = 1 { attributes = 1 }, scope_spans = 2 { scope = 1 { name = 1,
 * version = 2 }, spans = 2 } } holding one Span { trace_id = 1, span_id = 2,
 * name = 5, kind = 6 (SERVER), start/end_time_unix_nano = 7/8 (fixed64),
 * attributes = 9, status = 15 { message = 2, code = 3 (ERROR) } }.
 */
function encodeExportRequest(s: TestSpan): Buffer {
  const span = Buffer.concat([
    lengthDelimited(1, Buffer.from(s.traceId, 'hex')),
    lengthDelimited(2, Buffer.from(s.spanId, 'hex')),
    stringField(5, s.name),
    varintField(6, 2),
    fixed64Field(7, s.startTimeUnixNano),
    fixed64Field(8, s.endTimeUnixNano),
    lengthDelimited(9, stringAttribute('http.request.method', 'GET')),
    lengthDelimited(9, intAttribute('http.response.status_code', 503)),
    lengthDelimited(15, Buffer.concat([stringField(2, 'upstream unavailable'), varintField(3, 2)])),
  ]);
  const scope = Buffer.concat([stringField(1, 'hydrophone'), stringField(2, '0.0.0-test')]);
  const scopeSpans = Buffer.concat([lengthDelimited(1, scope), lengthDelimited(2, span)]);
  const resource = lengthDelimited(1, stringAttribute('service.name', 'hydrophone-collector-test'));
  const resourceSpans = Buffer.concat([lengthDelimited(1, resource), lengthDelimited(2, scopeSpans)]);
  return lengthDelimited(1, resourceSpans);
}
