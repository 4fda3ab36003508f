/**
 * gRPC over TLS in Node.js: @grpc/grpc-js (node:http2 over node:tls) uses
 * the OpenSSL linked into the node binary, through memory BIOs. The sensor
 * probes SSL_read/SSL_write in the node executable; the plaintext finds
 * its socket through the thread's last TLS-looking read (SSL_read) and
 * next TLS-looking write (SSL_write, bpf/lib/tls.h 3b). Every test filters
 * on the server's port, and plaintext that found no socket is dropped
 * under a port filter: spans at both ends mean the keying worked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Span } from '../../src/spans/span.ts';
import { HEADERS_MISSING } from '../../src/protocols/http2/exchangeMapping.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { CLIENT, SERVER } from '../support/spanPairs.ts';
import { freePort, node24, run, startServer, type Server } from '../support/peers.ts';
import { peersDir } from '../support/grpcPeers.ts';
import { goPeerBinaries, HttpsClient } from '../support/goPeers.ts';
import { selfSigned, type Certificate } from '../support/pythonHttps.ts';
import { byStart, callsOf, expectHttp2PlaintextOnly, SCRIPTED_CALLS } from '../support/grpcTlsCalls.ts';

const skipReason = bpfUnavailableReason();
const NODE_ARGS = ['--disable-warning=ExperimentalWarning', path.join(peersDir, 'node/echo.ts')];

describe.skipIf(skipReason)('gRPC over TLS through the OpenSSL inside the node binary (@grpc/grpc-js)', () => {
  let dir: string;
  let cert: Certificate;
  let port: number;
  let server: Server;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-grpcjs-tls-'));
    cert = selfSigned(dir);
    port = await freePort();
    server = await startServer(node24, [...NODE_ARGS, 'server', String(port), 'tls', cert.cert, cert.key], port);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([['grpc-js', 'node'], ['grpc-go over crypto/tls', 'go']] as const)('a %s client started after the sensor: every call at both ends', async (_what, client) => {
    // The Go binary already running when the sensor starts, so it is probed
    // at start: found at exec instead, a client this short could be done first.
    const goPort = await freePort();
    const holder = client === 'go' ? await startServer((await goPeerBinaries()).go, ['server', String(goPort)], goPort) : undefined;
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      const target = `127.0.0.1:${port}`;
      const r = client === 'node'
        ? await run(node24, [...NODE_ARGS, 'client', target, 'tls', cert.cert])
        : await run((await goPeerBinaries()).go, ['client', target, 'tls']);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as { calls: Array<{ method: string; code: number }> };
      expect(summary.calls.map((c) => [c.method, c.code])).toEqual(SCRIPTED_CALLS.map((c) => [c[2], c[3]]));
      await live.until((s) => s.length >= 2 * SCRIPTED_CALLS.length, `${SCRIPTED_CALLS.length} client and ${SCRIPTED_CALLS.length} server spans`);
      await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more should come
      expect(callsOf(live.spans, r.pid, CLIENT)).toEqual(SCRIPTED_CALLS);
      expect(callsOf(live.spans, server.pid, SERVER)).toEqual(SCRIPTED_CALLS);
      expect(live.spans).toHaveLength(2 * SCRIPTED_CALLS.length);
      // Keyed by the socket: addresses and ports are the connection's.
      for (const s of live.spans.filter((x) => x.kind === SERVER)) expect(s.attributes['server.port'], s.name).toBe(port);
      // A client errs on NOT_FOUND, a server does not (OpenTelemetry's gRPC conventions).
      const fail = live.spans.filter((s) => s.attributes['rpc.grpc.status_code'] === 5).sort((a, b) => a.kind - b.kind);
      expect(fail.map((s) => [s.kind, s.status])).toEqual([[SERVER, { code: 0 }], [CLIENT, { code: 2, message: 'no such echo' }]]);
      expectHttp2PlaintextOnly(live);
    } finally {
      await live.close();
      await holder?.stop();
    }
  });

  it('a channel opened before the sensor: later calls are spanned at both ends, marked as missing headers', async () => {
    // node:http2 has no header probes: HPACK entries made before the sensor stay unknown.
    const session = new HttpsClient(node24, '', 'h2', [...NODE_ARGS, 'session', `127.0.0.1:${port}`, 'tls', cert.cert]);
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
      // The last two calls, at both ends: what the wire still says (body sizes), and the mark.
      const last = (s: Span[], kind: number, pid: number) => s.filter((x) => x.kind === kind && x.resource['process.pid'] === pid).sort(byStart).slice(-2);
      await live.until((s) => last(s, CLIENT, session.pid).length === 2 && last(s, SERVER, server.pid).length === 2, 'the last two calls at both ends');
      await new Promise((resolve) => setTimeout(resolve, 300));
      for (const [kind, pid] of [[CLIENT, session.pid], [SERVER, server.pid]] as const) {
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
  });
});
