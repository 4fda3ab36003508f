import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer as createTlsServer, type Server as TlsServer, type TlsOptions } from 'node:tls';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { probeTls, type TlsProbeTarget } from './tlsProbe.ts';
import { makeTestPki, type TestPki } from '../../test/support/testPki.ts';
import { startProc, waitUntil, type Proc } from '../../test/support/childProcess.ts';
import { freePort, waitForPort } from '../../test/support/peers.ts';

let dir: string;
let pki: TestPki;
const servers: (TlsServer | TcpServer)[] = [];
const sockets = new Set<Socket>();
const procs: Proc[] = [];

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'hydrophone-tlsprobe-'));
  pki = await makeTestPki(dir);
});
afterAll(async () => {
  await Promise.all(procs.map((p) => p.stop()));
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await rm(dir, { recursive: true, force: true });
});

/** A TLS server on a free loopback port that requires a client certificate from the test CA (unless told otherwise). */
async function tlsServer(extra: TlsOptions = {}): Promise<number> {
  const server = createTlsServer({ cert: pki.server.certPem, key: pki.server.keyPem, ca: pki.caPem, requestCert: true, rejectUnauthorized: true, ...extra }, (s) => {
    sockets.add(s);
    s.on('error', () => {});
  });
  server.on('tlsClientError', () => {});
  return listen(server);
}

async function listen(server: TlsServer | TcpServer): Promise<number> {
  servers.push(server);
  server.on('connection', (s: Socket) => sockets.add(s));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as { port: number }).port;
}

/**
 * OpenSSL's test server, requiring a client certificate from the test CA.
 * Unlike Node's servers, which check the client's certificate after the
 * handshake and just close, it refuses with a TLS alert, as Java (Kafka) does.
 * -www: it answers HTTP instead of reading stdin, which it would take as a reason to stop.
 */
async function opensslServer(maxVersion: 'TLSv1.2' | 'TLSv1.3'): Promise<number> {
  const port = await freePort();
  const proc = startProc('openssl s_server', 'openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-www', '-cert', pki.server.certFile, '-key', pki.server.keyFile,
    '-CAfile', pki.caFile, '-Verify', '1', '-verify_return_error', maxVersion === 'TLSv1.2' ? '-tls1_2' : '-tls1_3']);
  procs.push(proc);
  await waitUntil(10_000, proc, async () => waitForPort(port, '127.0.0.1', 100).then(() => true, () => false));
  return port;
}

const asClient = (port: number, over: Partial<TlsProbeTarget> = {}): TlsProbeTarget => ({
  host: '127.0.0.1', port, ca: pki.caPem, cert: pki.client.certPem, key: pki.client.keyPem, ...over,
});

describe('probeTls', () => {
  it('accepts a server that trusts our certificate (TLS 1.3 and 1.2)', async () => {
    const port13 = await tlsServer();
    const port12 = await tlsServer({ maxVersion: 'TLSv1.2' });
    expect(await probeTls(asClient(port13))).toEqual({ ok: true, protocol: 'TLSv1.3' });
    expect(await probeTls(asClient(port12))).toEqual({ ok: true, protocol: 'TLSv1.2' });
  });

  it('says when the server certificate is not signed by our CA', async () => {
    const port = await tlsServer();
    const r = await probeTls(asClient(port, { ca: readFileSync(pki.otherCaFile) }));
    // Node's server sends the CA with its certificate, so OpenSSL sees a chain ending in an untrusted self-signed root.
    expect(r).toMatchObject({ ok: false, kind: 'untrustedServer', code: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(r.ok || r.message).toMatch(/not signed by the CA we trust/);
  });

  it('says when the server certificate does not name the host', async () => {
    const port = await tlsServer();
    const r = await probeTls(asClient(port, { servername: 'kafka.example.com' }));
    expect(r).toMatchObject({ ok: false, kind: 'nameMismatch', code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    expect(r.ok || r.message).toMatch(/does not name kafka\.example\.com/);
  });

  // TLS 1.3: our handshake completes before the server judges our certificate; its alert comes one round trip later.
  it.each(['TLSv1.3', 'TLSv1.2'] as const)('says when the server refuses a client certificate from another CA with an alert (%s)', async (version) => {
    const port = await opensslServer(version);
    expect(await probeTls(asClient(port))).toEqual({ ok: true, protocol: version });
    const r = await probeTls(asClient(port, { cert: pki.foreignClient.certPem, key: pki.foreignClient.keyPem }));
    expect(r).toMatchObject({ ok: false, kind: 'clientRejected', code: 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA' });
    expect(r.ok || r.message).toBe(`127.0.0.1:${port} refused our client certificate (TLS alert unknown_ca): our client certificate is signed by a CA it does not trust`);
  });

  it('says when the server wants a client certificate and gets none (TLS 1.3 alert)', async () => {
    const port = await opensslServer('TLSv1.3');
    const r = await probeTls(asClient(port, { cert: undefined, key: undefined }));
    expect(r).toMatchObject({ ok: false, kind: 'clientRejected', code: 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED' });
  });

  it('says when a server closes right after the TLS 1.3 handshake instead of sending an alert (Node servers)', async () => {
    const port = await tlsServer();
    const r = await probeTls(asClient(port, { cert: pki.foreignClient.certPem, key: pki.foreignClient.keyPem }));
    // No alert, so no proof: a server shutting down looks the same.
    expect(r).toMatchObject({ ok: false, kind: 'closedAfterHandshake' });
    expect(r.ok || r.message).toBe(`127.0.0.1:${port} closed the connection right after the TLS handshake, without an alert: it refused our client certificate, or it is shutting down`);
  });

  it('says when nothing listens', async () => {
    const server = createTcpServer();
    const port = await listen(server);
    await new Promise((r) => server.close(r));
    servers.splice(servers.indexOf(server), 1);
    const r = await probeTls(asClient(port));
    expect(r).toMatchObject({ ok: false, kind: 'unreachable', code: 'ECONNREFUSED' });
  });

  it('says when the port speaks plain text', async () => {
    const port = await listen(createTcpServer((s) => { s.on('error', () => {}); s.end('HTTP/1.1 400 Bad Request\r\n\r\n'); }));
    const r = await probeTls(asClient(port));
    expect(r).toMatchObject({ ok: false, kind: 'notTls' });
  });

  it('gives up after its timeout when the server never answers', async () => {
    const port = await listen(createTcpServer((s) => s.on('error', () => {})));
    const started = performance.now();
    const r = await probeTls(asClient(port, { timeoutMs: 300 }));
    expect(r).toMatchObject({ ok: false, kind: 'timeout' });
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
