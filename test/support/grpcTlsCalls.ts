/**
 * What the gRPC-over-TLS live tests expect of the echo peers' scripted
 * client (test/peers/README.md), and how they read it back from spans.
 */
import { expect } from 'vitest';
import type { Span } from '../../src/spans/span.ts';
import { HEADERS_MISSING } from '../../src/protocols/http2/exchangeMapping.ts';
import type { LiveSpans } from './liveSpans.ts';

export const ECHO_SERVICE = 'hydrophone.test.Echo';

export const byStart = (a: Span, b: Span) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0);

/** The scripted client's calls (every peer makes the same): name, service, method, status, messages each way, headers missing. */
export const SCRIPTED_CALLS = [
  ['Unary', 0, 1, 1], ['Unary', 0, 1, 1], ['ServerStream', 0, 1, 5], ['ClientStream', 0, 4, 1],
  ['Bidi', 0, 3, 3], ['Fail', 5, 1, 0], ['Slow', 4, 1, 0],
].map(([m, code, req, resp]) => [`${ECHO_SERVICE}/${m}`, ECHO_SERVICE, m, code, req, resp, false]);

/** What the spans of one end say about each call, in order (the shape of SCRIPTED_CALLS). */
export function callsOf(spans: Span[], pid: number, kind: number): unknown[] {
  return spans.filter((s) => s.resource['process.pid'] === pid && s.kind === kind).sort(byStart).map((s) => [
    s.name, s.attributes['rpc.service'], s.attributes['rpc.method'], s.attributes['rpc.grpc.status_code'],
    s.attributes['rpc.grpc.request.message_count'], s.attributes['rpc.grpc.response.message_count'], s.attributes[HEADERS_MISSING] ?? false,
  ]);
}

/** Nothing was parsed from ciphertext. */
export function expectHttp2PlaintextOnly(live: LiveSpans): void {
  expect(live.pipeline.stats().parsers.http2).toMatchObject({ invalidBytes: 0 });
  expect(live.pipeline.stats().tracker.unknownProtocol).toBe(0);
}
