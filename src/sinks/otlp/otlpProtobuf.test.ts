/**
 * Our OTLP encoder against the specification and against OpenTelemetry
 * JS's own serializer: both outputs are decoded with protobufjs and the
 * official .proto files (test/support/otlpProto.ts) and must be equal,
 * field for field, for spans that walk every branch of the writer
 * (non-ASCII, strings around the one-byte length limit, messages past 127
 * and 16383 bytes, negative integers, doubles, booleans, string arrays,
 * status messages, parents, several resources).
 */
import { describe, expect, it } from 'vitest';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { encodeExportTraceRequest } from './otlpProtobuf.ts';
import { toReadableSpan } from '../../../test/support/readableSpan.ts';
import type { Span } from '../../spans/span.ts';
import { decodeExportTraceRequest, otlpProtoUnavailableReason } from '../../../test/support/otlpProto.ts';
import { syntheticSpans } from '../../../test/support/syntheticSpans.ts';

const skipReason = otlpProtoUnavailableReason();

const podA = { 'service.name': 'cart', 'k8s.pod.name': 'cart-1', 'process.pid': 42 };
const podB = { 'service.name': 'zahlungsdienst-ü', 'k8s.namespace.name': 'n'.repeat(300) };

const EDGE: Span[] = [
  {
    traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', parentSpanId: '', name: 'GET /grüße/{id}', kind: 2,
    startTimeUnixNano: 1_763_900_000_123_456_789n, endTimeUnixNano: 1_763_900_000_223_456_789n,
    attributes: {
      'url.path': '/grüße/42?q=日本', 'http.response.status_code': 200, 'negative': -5, 'big': 2 ** 52, 'ratio': 0.25, 'flag': true, 'off': false,
      'exactly42': 'x'.repeat(42), 'exactly43': 'y'.repeat(43), 'long': 'z'.repeat(200), 'huge': 'h'.repeat(20_000), 'empty': '',
      // String arrays (captured headers): repeated values, non-ASCII, an array past 127 bytes, an empty one.
      'http.request.header.x-request-id': ['a1', 'b2'], 'http.response.header.content-language': ['de-AT, grüße'],
      'rpc.grpc.request.metadata.x-tenant-bin': ['AAEC', 'q'.repeat(300)], 'http.request.header.x-empty': [],
    },
    status: { code: 2, message: 'HTTP 500' }, resource: podA,
  },
  {
    traceId: '0af7651916cd43dd8448eb211c80319c', spanId: '00f067aa0ba902b7', parentSpanId: 'b7ad6b7169203331', name: 'POST /pay', kind: 3,
    startTimeUnixNano: 1n, endTimeUnixNano: 18_446_744_073_709_551_615n, attributes: {}, status: { code: 0 }, resource: podB,
  },
  {
    traceId: 'ffffffffffffffffffffffffffffffff', spanId: 'ffffffffffffffff', parentSpanId: '', name: '', kind: 2,
    startTimeUnixNano: 0n, endTimeUnixNano: 0n, attributes: { 'emoji': '🦑'.repeat(50) }, status: { code: 1 }, resource: podA,
  },
];

describe.skipIf(skipReason)('encodeExportTraceRequest', () => {
  it.each([
    ['edge cases', EDGE],
    ['realistic spans', syntheticSpans(500, { seed: 9 })],
    ['one span', syntheticSpans(1, { seed: 10 })],
  ])('%s decode, with the official protos, to what OpenTelemetry JS\'s serializer gives', (_name, spans) => {
    const ours = decodeExportTraceRequest(encodeExportTraceRequest(spans));
    const theirs = decodeExportTraceRequest(ProtobufTraceSerializer.serializeRequest(spans.map(toReadableSpan))!);
    expect(ours).toEqual(theirs);
    // and to what we meant
    expect(ours.map((d) => d.spanId).sort()).toEqual(spans.map((s) => s.spanId).sort());
    const sent = new Map(spans.map((s) => [s.spanId, s]));
    for (const d of ours) {
      const s = sent.get(d.spanId)!;
      expect(d).toMatchObject({ traceId: s.traceId, parentSpanId: s.parentSpanId, name: s.name, kind: s.kind, startTimeUnixNano: String(s.startTimeUnixNano), endTimeUnixNano: String(s.endTimeUnixNano), attributes: s.attributes, resource: s.resource });
    }
  });

  it('groups spans by resource and encodes each resource once per request', () => {
    const decoded = decodeExportTraceRequest(encodeExportTraceRequest(EDGE));
    expect(decoded.map((d) => d.resource['service.name'])).toEqual(['cart', 'cart', 'zahlungsdienst-ü']);
  });

  it('gives the same bytes for the same spans, call after call (its scratch buffers are reset)', () => {
    const spans = syntheticSpans(50, { seed: 11 });
    const a = Buffer.from(encodeExportTraceRequest(spans));
    encodeExportTraceRequest(EDGE);
    expect(Buffer.from(encodeExportTraceRequest(spans)).equals(a)).toBe(true);
  });
});
