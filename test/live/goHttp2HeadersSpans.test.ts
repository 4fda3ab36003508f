/**
 * HTTP/2 of Go's net/http (its bundled http2, ALPN h2) on a connection
 * opened before the sensor started: both HPACK dynamic tables were filled
 * before the sensor could see them, so the wire alone names nothing
 * (:method, :path, :status refer to entries it never saw). The uprobes on
 * net/http's header functions (bpf/lib/goH2.h) give the header blocks in
 * plaintext, and the spans of the requests made after the sensor started
 * must be right at both ends, concurrent streams included. And a control:
 * without the probes the same requests are spanned, named by nothing,
 * and marked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Span } from '../../src/spans/span.ts';
import { HEADERS_MISSING } from '../../src/protocols/http2/exchangeMapping.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { LiveSensor } from '../support/liveSensor.ts';
import { CLIENT, SERVER } from '../support/spanPairs.ts';
import { freePort, startServer } from '../support/peers.ts';
import { goPeerBinaries, HttpsClient, httpsServerArgs, type GoPeerBinaries } from '../support/goPeers.ts';

const skipReason = bpfUnavailableReason();
const byStart = (a: Span, b: Span) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : a.startTimeUnixNano > b.startTimeUnixNano ? 1 : 0);

/** What the spans of one end say about each request, in order of start. */
function requests(spans: Span[], pid: number, kind: number): unknown[] {
  return spans.filter((s) => s.resource['process.pid'] === pid && s.kind === kind).sort(byStart).map((s) => [
    s.attributes['http.request.method'], s.attributes['url.path'], s.attributes['http.response.status_code'], s.attributes[HEADERS_MISSING] ?? false,
  ]);
}

describe.skipIf(skipReason)('net/http HTTP/2 on a Go connection older than the sensor (net/http header uprobes)', () => {
  let peers: GoPeerBinaries;

  beforeAll(async () => {
    peers = await goPeerBinaries();
  });

  it('attaches net/http\'s header probes with the crypto/tls ones and says so', async () => {
    const port = await freePort();
    const server = await startServer(peers.go, httpsServerArgs(port), port);
    const live = new LiveSensor({ ports: [1], tls: true });
    try {
      const tls = live.source.tls();
      const go = tls.attached.find((x) => x.kind === 'go' && x.path === peers.go);
      expect(go?.headerStacks).toEqual(['grpc-go', 'net/http']);
      expect(go?.headerFunctions).toEqual(expect.arrayContaining([
        'net/http.(*http2serverConn).processHeaders', 'net/http.(*http2clientConnReadLoop).processHeaders',
        'net/http.(*http2writeResHeaders).writeFrame', 'net/http.(*http2writeResHeaders).writeHeaderBlock',
        'net/http.(*http2clientStream).encodeAndWriteHeaders', 'net/http.(*http2ClientConn).encodeTrailers',
        'net/http.(*http2ClientConn).writeHeaders', 'vendor/golang.org/x/net/http2/hpack.(*Encoder).WriteField',
      ]));
      expect(tls.summary).toContain(`${peers.go} (Go crypto/tls + grpc-go, net/http headers, ${go!.goVersion})`);
      const programs = live.source.programs().filter((p) => p.name.startsWith('hp_up_go_h2'));
      expect(programs.map((p) => [p.name, p.loaded, p.attached]).sort()).toEqual([
        ['hp_up_go_h2', true, true], ['hp_up_go_h2_field', true, true], ['hp_up_go_h2_start', true, true],
      ]);
    } finally {
      live.close();
      await server.stop();
    }
  });

  it.each([['go'], ['pie']] as const)('%s build: requests after the sensor started, on an older connection, have method, path and status at both ends', async (build) => {
    const port = await freePort();
    const server = await startServer(peers[build], httpsServerArgs(port), port);
    const client = new HttpsClient(peers[build], `https://127.0.0.1:${port}`, 'h2');
    let live: LiveSpans | undefined;
    try {
      // Before the sensor: the connection opens, both HPACK tables fill with this request's fields.
      expect(await client.send('GET /before')).toBe('200 HTTP/2.0 17');
      live = new LiveSpans({ ports: [port], tls: true });
      const after = ['GET /before', 'POST /orders 300', 'GET /missing', 'GET /fail/now', 'GET /before'];
      const answers = [];
      for (const r of after) answers.push(await client.send(r));
      expect(answers.map((a) => a.split(' ')[0])).toEqual(['200', '200', '404', '500', '200']);
      // Concurrent streams on the one connection: each block keyed by its own stream.
      expect(await client.send('PAR 4 GET /par')).toBe('200 200 200 200');
      const total = after.length + 4;
      await live.until((s) => s.length >= 2 * total, `${total} client and ${total} server spans`);
      await new Promise((r) => setTimeout(r, 300)); // nothing more should come
      const expected = [
        ['GET', '/before', 200, false], ['POST', '/orders', 200, false], ['GET', '/missing', 404, false],
        ['GET', '/fail/now', 500, false], ['GET', '/before', 200, false],
      ];
      const par = (spans: unknown[]) => (spans.slice(after.length) as Array<[string, string, number, boolean]>).sort((a, b) => a[1].localeCompare(b[1]));
      const parExpected = [1, 2, 3, 4].map((i) => ['GET', `/par/${i}`, 200, false]);
      for (const [pid, kind] of [[client.pid, CLIENT], [server.pid, SERVER]] as const) {
        const seen = requests(live.spans, pid, kind);
        expect(seen.slice(0, after.length)).toEqual(expected);
        expect(par(seen)).toEqual(parExpected);
      }
      expect(live.spans).toHaveLength(2 * total);
      const stats = live.pipeline.stats();
      expect(stats.parsers.http2).toMatchObject({ orphanResponses: 0, unansweredRequests: 0 });
    } finally {
      await client.end();
      await live?.close();
      await server.stop();
    }
  });

  it('without the header probes (the control), the same requests are spanned but named by nothing, and marked', async () => {
    const port = await freePort();
    const server = await startServer(peers.go, httpsServerArgs(port), port);
    const client = new HttpsClient(peers.go, `https://127.0.0.1:${port}`, 'h2');
    let live: LiveSpans | undefined;
    try {
      expect(await client.send('GET /before')).toBe('200 HTTP/2.0 17');
      live = new LiveSpans({ ports: [port], tls: true, goHeaders: 'off' });
      // A connection picked up mid-stream is taken for HTTP/2 only after 4 KiB without the copies'
      // word for it (TrackerLimits.inferenceBytes): the first request carries that much.
      for (const r of ['POST /before 5000', 'GET /before']) await client.send(r);
      await live.until((s) => s.length >= 4, '2 client and 2 server spans');
      for (const s of live.spans) {
        expect(s.attributes[HEADERS_MISSING], s.name).toBe(true);
        expect(s.attributes['url.path'], s.name).toBeUndefined();
      }
    } finally {
      await client.end();
      await live?.close();
      await server.stop();
    }
  });
});
