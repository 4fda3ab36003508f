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
import { expectCallsOnChannelOpenedBefore, expectScriptedCallsAtBothEnds } from '../support/grpcTlsCalls.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
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
      await expectScriptedCallsAtBothEnds(live, r, server.pid, port);
    } finally {
      await live.close();
      await holder?.stop();
    }
  });

  // Once: the mark does not depend on the release.
  if (all) it('a channel opened before the sensor: later calls are spanned at both ends, marked as missing headers', async () => {
    // grpcio has no header probes: HPACK entries made before the sensor stay unknown.
    const session = new HttpsClient(python, '', 'h2', [ECHO, 'session', `127.0.0.1:${port}`, 'tls', cert.cert]);
    await expectCallsOnChannelOpenedBefore(session, port, server.pid);
  });
});
