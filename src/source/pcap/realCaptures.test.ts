/**
 * Real captures from other tools' test suites (../shared/captures, with
 * tshark's counts in MANIFEST.tsv): every file is read completely, with
 * tshark's packet count, and the HTTP ones go through the pipeline, whose
 * span count is compared with tshark's. Every difference is a named
 * expectation below, with the reason found.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Pipeline } from '../../pipeline/pipeline.ts';
import { SHARED_CAPTURES, sharedCapturesMissing } from '../../../test/support/sharedCaptures.ts';
import type { Span } from '../../spans/span.ts';
import { CaptureError, PacketCaptureSource, readDecryptedCapture, readKeyLog, type CaptureOptions, type TlsStats } from './index.ts';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const CAPTURES = SHARED_CAPTURES;
const available = sharedCapturesMissing() === undefined;

interface ManifestRow {
  filename: string;
  packets: number;
  http1Requests: number;
  h2: number;
  notes: string;
}

function manifest(): ManifestRow[] {
  const [head, ...rows] = readFileSync(path.join(CAPTURES, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  const cols = head!.split('\t');
  return rows.map((line) => {
    const f = line.split('\t');
    const get = (name: string) => f[cols.indexOf(name)] ?? '';
    return {
      filename: get('filename'), packets: Number(get('packets')), http1Requests: Number(get('http1_requests')),
      h2: Number.parseInt(get('http2_streams_or_grpc_calls'), 10) || 0, notes: get('notes'),
    };
  });
}

async function replay(file: string, options: CaptureOptions = {}) {
  const spans: Span[] = [];
  const pipeline = new Pipeline({ write: (s) => void spans.push(...s), close: async () => {} });
  const source = new PacketCaptureSource(path.join(CAPTURES, file), options);
  let error: unknown;
  try {
    for await (const batch of source.batches()) pipeline.accept(batch);
  } catch (err) {
    error = err;
  }
  await pipeline.close();
  return { spans, stats: source.stats, error, pipeline: pipeline.stats() };
}

/** Files known to be damaged: the error expected, and the packets read before it. */
const DAMAGED: Record<string, RegExp> = {
  // tshark: "appears to have been cut short in the middle of a packet"; the last record header has 1 of its 16 bytes.
  'sv-pgsql-5000-rows.pcap': /offset 3276005: record header cut short: the file ends after 1 of its 16 bytes/,
};

interface Expectation {
  file: string;
  spans: number;
  /** tshark's view, from the manifest: requests / responses or HTTP/2 streams. */
  tshark: string;
  /** Why the counts differ, when they do. */
  why?: string;
}

const HTTP: Expectation[] = [
  { file: 'zeek-http-pipelined-requests.pcap', spans: 5, tshark: '5 requests, 5 responses' },
  {
    file: 'zeek-http-1000-requests-one-dropped-response.pcap', spans: 999, tshark: '1000 requests, 999 responses',
    why: 'the packet with the first response head (238 bytes) is missing: its body is skipped after the gap, the first request gets no span',
  },
  {
    file: 'zeek-http-bro.org.pcap', spans: 31, tshark: '31 requests, 30 responses',
    why: 'the response to /js/jquery.cycle.all.min.js (tcp.stream 2) misses 7240 body bytes (seq 7241..14481); its head has a Content-Length, '
      + 'so the HTTP/1 parser skips the hole and reports the exchange, while tshark cannot reassemble the PDU and counts no response',
  },
  { file: 'sv-http-pipelined-one-packet.pcap', spans: 2, tshark: '2 requests (in one packet), 2 responses' },
  { file: 'zeek-http-100-continue.pcap', spans: 1, tshark: '1 request, 2 responses', why: 'the 100 Continue is an interim response of the same exchange' },
  { file: 'zeek-http-no_crlf.pcap', spans: 5, tshark: '5 requests, 5 responses' },
  { file: 'zeek-http-websocket.pcap', spans: 1, tshark: '1 request, 1 response (101, then WebSocket frames)' },
  {
    file: 'zeek-http-zero-length-bodies-with-drops.pcap', spans: 6, tshark: '7 requests, 8 responses',
    why: 'three segments are missing (client 4349..5623 and 10702..11977, server 1863..2405: one whole request and its response, '
      + 'and one request). The request at frame 19 and its response at frame 20 both follow a gap on their side; the HTTP/1 parser never '
      + 'stitches across a gap, so it drops that request (droppedByGap) and orphans that response, although the response ACKs exactly the '
      + "request's end (6862). The response at frame 35 has no captured request: orphan, as in tshark. 8 exchanges happened, 6 are complete",
  },
  { file: 'sv-http-aptget.pcap', spans: 0, tshark: '1 request, 0 responses', why: 'the response body is cut short by the end of the capture' },
  {
    file: 'sv-h2c-upgrade-range.pcap', spans: 5, tshark: '5 HTTP/1 requests, 5 responses, 3 HTTP/2 streams',
    why: 'the 3 HTTP/2 streams are stream 1 of the 3 connections upgraded by "Upgrade: h2c": the answers to 3 of the 5 HTTP/1 requests. '
      + '5 exchanges; the parser reports the upgraded ones with status 101 and does not follow the connection into HTTP/2',
  },
  { file: 'sv-h2c-continuation.pcap', spans: 1, tshark: '1 HTTP/2 stream' },
  { file: 'sv-h2c-doh-post.pcap', spans: 34, tshark: '34 HTTP/2 streams' },
  { file: 'sv-h2c-nghttp2-keywords.pcap', spans: 6, tshark: '6 HTTP/2 streams' },
  { file: 'packt-grpc-unary.pcapng', spans: 1, tshark: '1 gRPC call (IPv6 loopback, NULL link type, among 4.3k unrelated packets)' },
  { file: 'packt-grpc-client-streaming.pcapng', spans: 1, tshark: '1 gRPC call' },
  { file: 'packt-grpc-server-streaming.pcapng', spans: 1, tshark: '1 gRPC call' },
  {
    file: 'zeek-tls12-decryption.pcap', spans: 0, tshark: '1 request after decryption with the key log',
    why: 'TLS without --keylog: ciphertext is counted and skipped (with the key log: see "TLS captures" below)',
  },
  { file: 'zeek-tls12-stream-keylog.pcap', spans: 0, tshark: '16 requests after decryption with the key log', why: 'TLS, as above' },
];

describe.skipIf(!available)('real captures', () => {
  const rows = available ? manifest() : [];

  it.each(rows.map((r) => [r.filename, r] as const))('%s is read completely, with tshark\'s packet count', async (file, row) => {
    const { stats, error } = await replay(file);
    const damaged = DAMAGED[file];
    if (damaged) {
      expect(error).toBeInstanceOf(CaptureError);
      expect((error as Error).message).toMatch(damaged);
    } else {
      expect(error).toBeUndefined();
    }
    expect(stats.packets).toBe(row.packets);
    expect(stats.malformed).toBe(0);
  });

  it('every HTTP capture of the manifest has an expectation here', () => {
    const http = rows.filter((r) => r.http1Requests > 0 || r.h2 > 0).map((r) => r.filename);
    expect(http.filter((f) => !HTTP.some((e) => e.file === f))).toEqual([]);
  });

  it.each(HTTP.map((e) => [e.file, e] as const))('%s: span count vs tshark', async (file, e) => {
    const { spans, error } = await replay(file);
    expect(error).toBeUndefined();
    expect(spans.length, `${file}: tshark ${e.tshark}${e.why ? `; ${e.why}` : ''}`).toBe(e.spans);
    expect(spans.every((s) => s.kind === 2)).toBe(true);
  });

  it('the client perspective gives the same exchanges as CLIENT spans', async () => {
    const server = await replay('zeek-http-pipelined-requests.pcap');
    const client = await replay('zeek-http-pipelined-requests.pcap', { perspective: 'client' });
    expect(client.spans.map((s) => [s.kind, s.name])).toEqual(server.spans.map((s) => [3, s.name]));
  });

  it('the truncated capture delivers its connection before the error', async () => {
    const { stats, error, pipeline } = await replay('sv-pgsql-5000-rows.pcap');
    expect(error).toBeInstanceOf(CaptureError);
    expect(stats.connections).toBeGreaterThan(0);
    expect(stats.payloadBytes).toBeGreaterThan(3_000_000);
    expect(pipeline.events).toBe(stats.events);
    expect(stats.events).toBeGreaterThan(300); // large (offloaded) segments: 785 packets, 400 events
  });

  it('gRPC over IPv6 loopback: addresses and the method', async () => {
    const { spans } = await replay('packt-grpc-unary.pcapng');
    expect(spans[0]).toMatchObject({ name: 'greet.GreetService/Greet' });
    expect(spans[0]!.attributes).toMatchObject({ 'network.type': 'ipv6', 'network.peer.address': '::1', 'rpc.grpc.status_code': 0 });
  });
});

describe.skipIf(!available)('TLS captures', () => {
  async function replayTls(file: string, keylog?: string) {
    const spans: Span[] = [];
    const pipeline = new Pipeline({ write: (s) => void spans.push(...s), close: async () => {} });
    const source = readDecryptedCapture(path.join(CAPTURES, file), keylog ? { keylog: readKeyLog(path.join(CAPTURES, keylog)) } : {});
    let tls: TlsStats | undefined;
    for (;;) {
      const r = await source.next();
      if (r.done) {
        tls = r.value.tls;
        break;
      }
      pipeline.accept(r.value);
    }
    await pipeline.close();
    return { spans, tls: tls! };
  }

  it.each([
    ['zeek-tls12-decryption.pcap', 'zeek-tls12-decryption.keylog', ['GET / 301']],
    ['zeek-tls12-stream-keylog.pcap', 'zeek-tls12-stream-keylog.keylog', null],
  ] as const)('%s with its key log replays like HTTP, as tshark decrypts it', async (file, keylog, names) => {
    const { spans, tls } = await replayTls(file, keylog);
    expect(tls).toMatchObject({ connections: 1, decrypted: 1, skipped: 0 });
    const expected = file === 'zeek-tls12-stream-keylog.pcap' ? 16 : 1;
    expect(spans).toHaveLength(expected);
    if (names) expect(spans.map((s) => `${s.name} ${s.attributes['http.response.status_code']}`)).toEqual(names);
    expect(spans.every((s) => s.attributes['url.scheme'] === 'https')).toBe(true);
  });

  it('without a key log, or with the wrong one, TLS is counted and skipped with the reason', async () => {
    const none = await replayTls('zeek-tls12-decryption.pcap');
    expect(none.spans).toEqual([]);
    expect(none.tls).toMatchObject({ connections: 1, decrypted: 0, skipped: 1, reasons: { 'no --keylog given': 1 } });
    const wrong = await replayTls('zeek-tls12-decryption.pcap', 'zeek-tls12-stream-keylog.keylog');
    expect(wrong.spans).toEqual([]);
    expect(Object.keys(wrong.tls.reasons)[0]).toMatch(/^no key for client random/);
  });
});
