/**
 * gRPC over TLS in Node.js: @grpc/grpc-js (node:http2 over node:tls) uses
 * the OpenSSL linked into the node binary, through memory BIOs. The sensor
 * probes SSL_read/SSL_write in the node executable; the plaintext finds
 * its socket through the thread's last TLS-looking read (SSL_read) and
 * next TLS-looking write (SSL_write, bpf/lib/tls.h 3b). Every test filters
 * on the server's port, and plaintext that found no socket is dropped
 * under a port filter: spans at both ends mean the keying worked.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { freePort, node24, run, startServer, type Server } from '../support/peers.ts';
import { peersDir } from '../support/grpcPeers.ts';
import { goPeerBinaries, HttpsClient } from '../support/goPeers.ts';
import { selfSigned, type Certificate } from '../support/pythonHttps.ts';
import { expectCallsOnChannelOpenedBefore, expectScriptedCallsAtBothEnds } from '../support/grpcTlsCalls.ts';

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
      await expectScriptedCallsAtBothEnds(live, r, server.pid, port);
    } finally {
      await live.close();
      await holder?.stop();
    }
  });

  it('a channel opened before the sensor: later calls are spanned at both ends, marked as missing headers', async () => {
    // node:http2 has no header probes: HPACK entries made before the sensor stay unknown.
    const session = new HttpsClient(node24, '', 'h2', [...NODE_ARGS, 'session', `127.0.0.1:${port}`, 'tls', cert.cert]);
    await expectCallsOnChannelOpenedBefore(session, port, server.pid);
  });
});
