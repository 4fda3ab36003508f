/**
 * What the gRPC-over-TLS live tests expect of the echo peers' scripted
 * client (test/peers/README.md), and how they read it back from spans.
 */
import { expect } from 'vitest';
import type { Span } from '../../src/spans/span.ts';
import { HEADERS_MISSING } from '../../src/protocols/http2/exchangeMapping.ts';
import { LiveSpans } from './liveSpans.ts';
import type { RunResult } from './peers.ts';
import type { HttpsClient } from './goPeers.ts';
import { CLIENT, SERVER } from './spanPairs.ts';

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

/**
 * The scripted client `r` ran against a TLS echo server on `port` under
 * `live`: exactly its calls, at both ends, keyed by the socket.
 */
export async function expectScriptedCallsAtBothEnds(live: LiveSpans, r: RunResult, serverPid: number, port: number): Promise<void> {
  expect(r.code, r.stderr).toBe(0);
  const summary = JSON.parse(r.stdout) as { calls: Array<{ method: string; code: number }> };
  expect(summary.calls.map((c) => [c.method, c.code])).toEqual(SCRIPTED_CALLS.map((c) => [c[2], c[3]]));
  await live.until((s) => s.length >= 2 * SCRIPTED_CALLS.length, `${SCRIPTED_CALLS.length} client and ${SCRIPTED_CALLS.length} server spans`);
  await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more should come
  expect(callsOf(live.spans, r.pid, CLIENT)).toEqual(SCRIPTED_CALLS);
  expect(callsOf(live.spans, serverPid, SERVER)).toEqual(SCRIPTED_CALLS);
  expect(live.spans).toHaveLength(2 * SCRIPTED_CALLS.length);
  // Keyed by the socket: addresses and ports are the connection's.
  for (const s of live.spans.filter((x) => x.kind === SERVER)) expect(s.attributes['server.port'], s.name).toBe(port);
  // A client errs on NOT_FOUND, a server does not (OpenTelemetry's gRPC conventions).
  const fail = live.spans.filter((s) => s.attributes['rpc.grpc.status_code'] === 5).sort((a, b) => a.kind - b.kind);
  expect(fail.map((s) => [s.kind, s.status])).toEqual([[SERVER, { code: 0 }], [CLIENT, { code: 2, message: 'no such echo' }]]);
  expectHttp2PlaintextOnly(live);
}

/**
 * A session peer (one channel, a call per line: test/peers/README.md) makes
 * a call, a sensor starts, it makes three more: the last two are spanned at
 * both ends with what the wire still says (body sizes), marked as missing
 * headers (HPACK entries made before the sensor stay unknown). Ends the
 * session.
 */
export async function expectCallsOnChannelOpenedBefore(session: HttpsClient, port: number, serverPid: number): Promise<void> {
  let live: LiveSpans | undefined;
  try {
    expect(JSON.parse(await session.send('Unary before'))).toMatchObject({ method: 'Unary', code: 0 });
    live = new LiveSpans({ ports: [port], tls: true });
    // Picked up mid-stream, the connection is taken for HTTP/2 only after
    // 4 KiB (TrackerLimits.inferenceBytes): the first call carries that much.
    const after = [`Unary ${'x'.repeat(5000)}`, 'Fail 5:no such echo', 'Unary after'];
    const answers = [];
    for (const c of after) answers.push(JSON.parse(await session.send(c)) as { method: string; code: number });
    expect(answers.map((a) => [a.method, a.code])).toEqual([['Unary', 0], ['Fail', 5], ['Unary', 0]]);
    const last = (s: Span[], kind: number, pid: number) => s.filter((x) => x.kind === kind && x.resource['process.pid'] === pid).sort(byStart).slice(-2);
    await live.until((s) => last(s, CLIENT, session.pid).length === 2 && last(s, SERVER, serverPid).length === 2, 'the last two calls at both ends');
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const [kind, pid] of [[CLIENT, session.pid], [SERVER, serverPid]] as const) {
      const [fail, unary] = last(live.spans, kind, pid);
      expect([fail!.attributes['http.request.body.size'], fail!.attributes['http.response.body.size']]).toEqual([5 + 'no such echo'.length + 2, 0]);
      expect([unary!.attributes['http.request.body.size'], unary!.attributes['http.response.body.size']]).toEqual([5 + 'after'.length, 5 + 'after'.length]);
      for (const s of [fail!, unary!]) expect(s.attributes[HEADERS_MISSING], s.name).toBe(true);
    }
    expectHttp2PlaintextOnly(live);
  } finally {
    await session.end();
    await live?.close();
  }
}
