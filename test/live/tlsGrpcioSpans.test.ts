/**
 * gRPC over TLS through grpcio's own BoringSSL, as PyPI ships it: linked
 * statically into grpc/_cython/cygrpc.*.so and stripped. The sensor finds
 * SSL_read and SSL_write by their error-site fingerprints
 * (src/source/bpf/boringsslFunctions.ts). grpc core drives BoringSSL
 * through memory BIOs, so no socket syscall happens inside SSL_read or
 * SSL_write: the plaintext finds its socket through the thread's last
 * TLS-looking read (bpf/lib/tls.h, step 3). Every test filters on the
 * server's port, and plaintext that found no socket is dropped under a
 * port filter: spans at both ends mean the keying worked. Two grpcio
 * releases: the pinned one and 1.50 (2022), whose SSL_write raises other
 * errors (another fingerprint).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Span } from '../../src/spans/span.ts';
import { HEADERS_MISSING } from '../../src/protocols/http2/exchangeMapping.ts';
import { byStart, callsOf as calls, expectHttp2PlaintextOnly as expectPlaintextOnly, SCRIPTED_CALLS as SCRIPTED } from '../support/grpcTlsCalls.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { CLIENT, SERVER } from '../support/spanPairs.ts';
import { freePort, run, startServer, type Server } from '../support/peers.ts';
import { peersDir, preparedPeerPaths } from '../support/grpcPeers.ts';
import { goPeerBinaries, HttpsClient } from '../support/goPeers.ts';
import { selfSigned, type Certificate } from '../support/pythonHttps.ts';

const skipReason = bpfUnavailableReason();
const ECHO = path.join(peersDir, 'python/echo.py');

const RELEASES = [
  { release: 'the pinned grpcio', venv: 'python', all: true },
  { release: 'grpcio 1.50 (2022)', venv: 'python_grpcio_2022', all: false },
];

describe.skipIf(skipReason).each(RELEASES)('gRPC over TLS through the stripped BoringSSL of $release (PyPI wheel)', ({ venv, all }) => {
  let python: string;
  let dir: string;
  let cert: Certificate;
  let port: number;
  let server: Server;

  beforeAll(async () => {
    const found = (await preparedPeerPaths()).get(venv);
    if (!found) throw new Error(`test/peers/prepare.sh printed no ${venv}= line`);
    python = found;
    dir = mkdtempSync(path.join(tmpdir(), 'hp-grpcio-tls-'));
    cert = selfSigned(dir);
    port = await freePort();
    server = await startServer(python, [ECHO, 'server', String(port), 'tls', cert.cert, cert.key], port);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds SSL_write and SSL_read in the stripped extension and says how', async () => {
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      const tls = live.source.tls();
      const grpcio = tls.attached.find((b) => b.path.includes('/grpc/_cython/cygrpc'));
      expect(grpcio?.functions).toEqual(['SSL_write', 'SSL_read']);
      expect(grpcio?.foundBy).toBe('stripped BoringSSL, functions found by their error sites: SSL_read told from SSL_peek by its extra call');
      expect(tls.summary).toContain(`${grpcio!.path} (stripped BoringSSL, by fingerprint)`);
      expect(tls.skipped.filter((s) => s.path.includes('cygrpc'))).toEqual([]);
    } finally {
      await live.close();
    }
  });

  const clients: Array<[string, 'python' | 'go']> = [['grpcio', 'python'], ...(all ? [['grpc-go over crypto/tls', 'go'] as [string, 'go']] : [])];
  it.each(clients)('a %s client started after the sensor: every call at both ends', async (_what, client) => {
    // The Go binary already running when the sensor starts, so it is probed
    // at start: found at exec instead, a client this short could be done first.
    const goPort = await freePort();
    const holder = client === 'go' ? await startServer((await goPeerBinaries()).go, ['server', String(goPort)], goPort) : undefined;
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      const target = `127.0.0.1:${port}`;
      const r = client === 'python'
        ? await run(python, [ECHO, 'client', target, 'tls', cert.cert])
        : await run((await goPeerBinaries()).go, ['client', target, 'tls']);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as { calls: Array<{ method: string; code: number }> };
      expect(summary.calls.map((c) => [c.method, c.code])).toEqual(SCRIPTED.map((c) => [c[2], c[3]]));
      await live.until((s) => s.length >= 2 * SCRIPTED.length, `${SCRIPTED.length} client and ${SCRIPTED.length} server spans`);
      await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more should come
      expect(calls(live.spans, r.pid, CLIENT)).toEqual(SCRIPTED);
      expect(calls(live.spans, server.pid, SERVER)).toEqual(SCRIPTED);
      expect(live.spans).toHaveLength(2 * SCRIPTED.length);
      // Keyed by the socket: addresses and ports are the connection's.
      for (const s of live.spans.filter((x) => x.kind === SERVER)) expect(s.attributes['server.port'], s.name).toBe(port);
      // A client errs on NOT_FOUND, a server does not (OpenTelemetry's gRPC conventions).
      const fail = live.spans.filter((s) => s.attributes['rpc.grpc.status_code'] === 5).sort((a, b) => a.kind - b.kind);
      expect(fail.map((s) => [s.kind, s.status])).toEqual([[SERVER, { code: 0 }], [CLIENT, { code: 2, message: 'no such echo' }]]);
      expectPlaintextOnly(live);
    } finally {
      await live.close();
      await holder?.stop();
    }
  });

  // Once: the mark does not depend on the release.
  if (all) it('a channel opened before the sensor: later calls are spanned at both ends, marked as missing headers', async () => {
    // grpcio has no header probes: HPACK entries made before the sensor stay unknown.
    const session = new HttpsClient(python, '', 'h2', [ECHO, 'session', `127.0.0.1:${port}`, 'tls', cert.cert]);
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
      expectPlaintextOnly(live);
    } finally {
      await session.end();
      await live?.close();
    }
  });
});
