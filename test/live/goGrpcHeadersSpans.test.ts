/**
 * gRPC over a Go TLS connection opened before the sensor started: its
 * HPACK dynamic tables were filled before the sensor could see them, so
 * the wire alone names nothing (:path, :status, grpc-status refer to
 * entries it never saw). The uprobes on grpc-go's transport
 * (bpf/lib/goH2.h) give the header blocks in plaintext, and the spans of
 * the calls made after the sensor started must be right at both ends.
 * Also: the probes are attached and say so; a build without DWARF is
 * reported, not traced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../src/spans/span.ts';
import { HEADERS_MISSING } from '../../src/protocols/http2/exchangeMapping.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { LiveSensor } from '../support/liveSensor.ts';
import { CLIENT, SERVER } from '../support/spanPairs.ts';
import { freePort, startServer, type Server } from '../support/peers.ts';
import { goPeerBinaries, GrpcSession, type GoPeerBinaries } from '../support/goPeers.ts';

const skipReason = bpfUnavailableReason();
const SERVICE = 'hydrophone.test.Echo';
const byStart = (a: Span, b: Span) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0);

/** What the spans of one end say about each call, in order. */
function calls(spans: Span[], pid: number, kind: number): unknown[] {
  return spans.filter((s) => s.resource['process.pid'] === pid && s.kind === kind).sort(byStart).map((s) => [
    s.name, s.attributes['rpc.service'], s.attributes['rpc.method'], s.attributes['rpc.grpc.status_code'],
    s.attributes['rpc.grpc.request.message_count'], s.attributes['rpc.grpc.response.message_count'], s.attributes[HEADERS_MISSING] ?? false,
  ]);
}

describe.skipIf(skipReason)('gRPC on a Go connection older than the sensor (grpc-go header uprobes)', () => {
  let peers: GoPeerBinaries;

  beforeAll(async () => {
    peers = await goPeerBinaries();
  });

  it('attaches the header probes with the crypto/tls ones, and names a build without DWARF as not traced', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const server = await startServer(peers.go, ['server', String(a), 'tls'], a);
    const noDwarf = await startServer(peers.noDwarf, ['server', String(b), 'tls'], b);
    const live = new LiveSensor({ ports: [1], tls: true });
    try {
      const tls = live.source.tls();
      const go = tls.attached.find((x) => x.kind === 'go' && x.path === peers.go);
      // The peer serves HTTPS too: net/http's header functions follow grpc-go's (goHttp2HeadersSpans.test.ts).
      expect(go?.headerFunctions?.slice(0, 3)).toEqual([
        'google.golang.org/grpc/internal/transport.(*http2Client).operateHeaders',
        'google.golang.org/grpc/internal/transport.(*http2Server).operateHeaders',
        'google.golang.org/grpc/internal/transport.(*loopyWriter).writeHeader',
      ]);
      expect(tls.summary).toContain(`${peers.go} (Go crypto/tls + grpc-go, net/http headers, ${go!.goVersion})`);
      expect(tls.skipped.find((s) => s.path.startsWith(peers.noDwarf))?.reason).toMatch(/no DWARF \(linked with -w or -s\)/);
      const programs = live.source.programs().filter((p) => p.name === 'hp_up_go_h2');
      expect(programs.map((p) => [p.loaded, p.attached])).toEqual([[true, true]]);
    } finally {
      live.close();
      await server.stop();
      await noDwarf.stop();
    }
  });

  it.each([['tls', true, 'go'], ['cleartext (h2c)', false, 'go'], ['tls, position-independent build', true, 'pie']] as const)('%s: calls after the sensor started on an older connection have service, method and status at both ends', async (_what, tls, build) => {
    const port = await freePort();
    const server = await startServer(peers[build], ['server', String(port), ...(tls ? ['tls'] : [])], port);
    const session = new GrpcSession(peers[build], `127.0.0.1:${port}`, tls);
    let live: LiveSpans | undefined;
    try {
      // Before the sensor: the connection opens, both HPACK tables fill with this call's fields.
      expect(JSON.parse(await session.send('Unary before'))).toMatchObject({ method: 'Unary', code: 0 });
      live = new LiveSpans({ ports: [port], tls: true });
      const after = ['Unary after-1', 'Fail 5:no such echo', 'Unary after-2', 'Fail 7:denied'];
      const answers = [];
      for (const c of after) answers.push(JSON.parse(await session.send(c)) as { method: string; code: number });
      expect(answers.map((a) => [a.method, a.code])).toEqual([['Unary', 0], ['Fail', 5], ['Unary', 0], ['Fail', 7]]);
      await live.until((s) => s.length >= 2 * after.length, `${after.length} client and ${after.length} server spans`);
      await new Promise((r) => setTimeout(r, 300)); // nothing more should come
      const expected = [
        [`${SERVICE}/Unary`, SERVICE, 'Unary', 0, 1, 1, false],
        [`${SERVICE}/Fail`, SERVICE, 'Fail', 5, 1, 0, false],
        [`${SERVICE}/Unary`, SERVICE, 'Unary', 0, 1, 1, false],
        [`${SERVICE}/Fail`, SERVICE, 'Fail', 7, 1, 0, false],
      ];
      expect(calls(live.spans, session.pid, CLIENT)).toEqual(expected);
      expect(calls(live.spans, server.pid, SERVER)).toEqual(expected);
      expect(live.spans).toHaveLength(2 * after.length);
      const fail = live.spans.find((s) => s.kind === CLIENT && s.attributes['rpc.grpc.status_code'] === 5);
      expect(fail?.status).toEqual({ code: 2, message: 'no such echo' });
      const stats = live.pipeline.stats();
      expect(stats.parsers.http2).toMatchObject({ orphanResponses: 0, unansweredRequests: 0 });
    } finally {
      await session.end();
      await live?.close();
      await server.stop();
    }
  });

  it('without the header probes (the control), the same calls are spanned but named by nothing, and marked', async () => {
    const port = await freePort();
    const server = await startServer(peers.go, ['server', String(port), 'tls'], port);
    const session = new GrpcSession(peers.go, `127.0.0.1:${port}`, true);
    let live: LiveSpans | undefined;
    try {
      expect(JSON.parse(await session.send('Unary before'))).toMatchObject({ code: 0 });
      live = new LiveSpans({ ports: [port], tls: true, goHeaders: 'off' });
      // A connection picked up mid-stream is taken for HTTP/2 only after 4 KiB without the copies'
      // word for it (TrackerLimits.inferenceBytes): the first call carries that much.
      for (const c of [`Unary ${'x'.repeat(5000)}`, 'Fail 5:no such echo']) await session.send(c);
      await live.until((s) => s.length >= 4, '2 client and 2 server spans');
      for (const s of live.spans) {
        expect(s.attributes[HEADERS_MISSING], s.name).toBe(true);
        expect(s.attributes['rpc.method'], s.name).toBeUndefined();
      }
    } finally {
      await session.end();
      await live?.close();
      await server.stop();
    }
  });
});
