/**
 * TLS plaintext through OpenSSL's SSL BIO (sslBio: uprobes on libcrypto's
 * BIO_read/BIO_write(_ex), bpf/lib/sslBio.h): `openssl s_server -WWW`
 * reads and writes through a buffering BIO over an SSL BIO and never calls
 * SSL_read/SSL_write. curl (SSL_read/SSL_write on a socket BIO) is the
 * client, so both ends are traced and paired; the client's own BIO_read on
 * its socket BIO must not add anything. s_server closes the connection
 * after each response (HTTP/1.0), so every connection here is opened after
 * the sensor; a connection opened before it is covered by the s_client test
 * (its request, read by a BIO_read already waiting, is missed; the
 * response is not). OpenSSL 3 (the system's) and 1.1.1 (the cache's,
 * test/peers/openssl11.sh). With the BIO probes on, curl to nginx
 * (SSL_read/SSL_write) still makes exactly one span per request and end.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Span } from '../../src/spans/span.ts';
import type { BpfSource } from '../../src/source/bpf/bpfSource.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { LiveSensor } from '../support/liveSensor.ts';
import { CLIENT, SERVER, expectNested, pairUp } from '../support/spanPairs.ts';
import { freePort, run, startServer, type Server } from '../support/peers.ts';
import { openSsl11 } from '../support/openssl11.ts';

const skipReason = bpfUnavailableReason();
const PAGE = '<h1>hello through an SSL BIO</h1>\n';

/** The libcrypto a running process maps, by base name. */
function mappedLibcrypto(pid: number): string {
  const maps = execFileSync('cat', [`/proc/${pid}/maps`], { encoding: 'utf8' });
  const m = /\s(\/\S*libcrypto\.so\.(?:3|1\.1))$/m.exec(maps);
  if (!m) throw new Error(`pid ${pid} maps no libcrypto`);
  return m[1]!;
}

/** The SSL BIO probes on this libcrypto, once the sensor placed them (after an exec: rescans for 1.5 s). */
async function bioProbesOn(source: BpfSource, libcrypto: string, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = source.tls().attached.find((b) => b.kind === 'libcrypto' && realpathSync(b.openedAs) === realpathSync(libcrypto));
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no SSL BIO probes on ${libcrypto} after ${timeoutMs} ms: ${source.tls().summary}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** curl GETs of /index.html and /missing.html from s_server -WWW (a file server; a missing file is a 200 with an error text). */
async function curlTwo(port: number) {
  const base = `https://127.0.0.1:${port}`;
  const curl = await run('curl', ['-sSk', '--http1.1', `${base}/index.html`, '-o', '/dev/null', `${base}/missing.html`, '-o', '/dev/null']);
  expect(curl.code, curl.stderr).toBe(0);
  return curl;
}

function expectServerSpans(spans: Span[], serverPid: number, port: number): void {
  const servers = spans.filter((s) => s.resource['process.pid'] === serverPid && s.kind === SERVER);
  expect(servers.map((s) => [s.name, s.attributes['url.path'], s.attributes['http.response.status_code']])).toEqual([
    ['GET /index.html', '/index.html', 200], ['GET /missing.html', '/missing.html', 200],
  ]);
  expect(servers[0]!.attributes).toMatchObject({
    'http.request.method': 'GET', 'url.scheme': 'https', 'server.port': port, 'network.protocol.version': '1.1',
    'http.response.body.size': PAGE.length,
  });
}

describe.skipIf(skipReason)('TLS spans through OpenSSL\'s SSL BIO (openssl s_server -WWW)', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-tls-bio-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'c')], { stdio: 'ignore' });
    writeFileSync(path.join(dir, 'index.html'), PAGE);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  describe('OpenSSL 3 (libcrypto.so.3), s_server running before the sensor', () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      server = await startServer('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', 'c', '-key', 'k', '-WWW', '-quiet'], port, { cwd: dir });
    });
    afterAll(async () => server?.stop());

    it('without sslBio: no BIO probes, and s_server\'s plaintext is not seen (the gap this closes)', async () => {
      const live = new LiveSpans({ ports: [port], tls: true });
      try {
        expect(live.source.tls().attached.filter((b) => b.kind === 'libcrypto')).toEqual([]);
        const curl = await curlTwo(port);
        await live.until((s) => s.filter((x) => x.kind === CLIENT).length >= 2, 'curl\'s two client spans');
        await new Promise((r) => setTimeout(r, 300));
        expect(live.spans.filter((s) => s.resource['process.pid'] === server.pid)).toEqual([]);
        expect(live.byPid(curl.pid)).toHaveLength(2);
      } finally {
        await live.close();
      }
    });

    it('with sslBio: one client and one server span per request, nested, with method, path, status and sizes', async () => {
      const live = new LiveSpans({ ports: [port], tls: true, sslBio: true });
      try {
        const probes = await bioProbesOn(live.source, mappedLibcrypto(server.pid));
        expect(probes.functions).toEqual(['BIO_read', 'BIO_write', 'BIO_read_ex', 'BIO_write_ex']);
        expect(probes.links).toHaveLength(8);
        expect(live.source.tls().summary).toMatch(/libcrypto\.so\.3 \(SSL BIO\)/);
        // s_server sat in accept() when the sensor came: that connection is
        // found at its first data, as one older than the sensor (origin
        // existing: its spans are not paired). One request takes it.
        const warmup = await run('curl', ['-sSk', '--http1.1', '-o', '/dev/null', `https://127.0.0.1:${port}/index.html`]);
        expect(warmup.code, warmup.stderr).toBe(0);
        await live.until((s) => s.length >= 2, 'the warm-up\'s client and server spans');
        live.spans.length = 0;
        const curl = await curlTwo(port);
        await live.until((s) => s.length >= 4, '2 client and 2 server spans');
        await new Promise((r) => setTimeout(r, 300));
        expect(live.spans).toHaveLength(4);
        const pairs = pairUp(live.spans, curl.pid, server.pid);
        pairs.forEach(expectNested);
        expectServerSpans(live.spans, server.pid, port);
        expect(pairs[0]!.client.attributes).toMatchObject({ 'url.path': '/index.html', 'url.scheme': 'https', 'http.response.body.size': PAGE.length });
        // Two connections (s_server closes after each response), each on its socket: ports known, nothing unkeyed.
        expect(new Set(pairs.map(({ server: s }) => s.attributes['client.port'])).size).toBe(2);
        expect(live.source.kernelCounters().tlsUnkeyed).toBe(0n);
      } finally {
        await live.close();
      }
    });

    it('events: the server\'s plaintext is ssl_read/ssl_write on the socket\'s connection, its ciphertext stops', async () => {
      const live = new LiveSensor({ ports: [port], tls: true, sslBio: true });
      try {
        await bioProbesOn(live.source, mappedLibcrypto(server.pid));
        const curl = await run('curl', ['-sSk', '--http1.1', '-o', '/dev/null', `https://127.0.0.1:${port}/index.html`]);
        expect(curl.code, curl.stderr).toBe(0);
        await live.until((evs) => evs.filter((e) => e.type === 'close').length >= 2, 'both ends closed');
        const open = live.opens().find((o) => o.pid === server.pid);
        expect(open, 's_server\'s connection').toBeDefined();
        const data = live.data(open!.conn);
        const firstTls = data.findIndex((e) => e.tls);
        expect(firstTls).toBeGreaterThanOrEqual(0);
        expect(data.slice(firstTls).every((e) => e.tls)).toBe(true);
        expect(data.filter((e) => e.tls).map((e) => e.syscall)).toEqual(expect.arrayContaining(['ssl_read', 'ssl_write']));
        const text = (dir: 'ingress' | 'egress') => Buffer.concat(data.filter((e) => e.tls && e.direction === dir).map((e) => Buffer.from(e.payload))).toString();
        expect(text('ingress')).toMatch(/^GET \/index\.html HTTP\/1\.1\r\n/);
        expect(text('egress')).toBe(`HTTP/1.0 200 ok\r\nContent-type: text/html\r\n\r\n${PAGE}`);
      } finally {
        live.close();
      }
    });

    it('a connection opened before the sensor: its waiting read is missed, the response is still tied to the socket', async () => {
      // s_client handshakes, then waits for stdin; s_server sits in BIO_gets on it.
      const client = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-quiet', '-ign_eof'], { stdio: ['pipe', 'pipe', 'ignore'] });
      let out = '';
      client.stdout.on('data', (d: Buffer) => { out += d.toString(); });
      // 'close', not 'exit': the process can be gone before its stdout is read.
      const exited = new Promise((r) => client.on('close', r));
      try {
        // The handshake done: s_client then waits in select() (poll, pselect6) on
        // stdin and the socket, s_server in its read for the request. A fixed
        // sleep was not enough on a loaded machine: the request was then read
        // by a BIO_read that began after the probes.
        const waiting = () => {
          try {
            return /^(7|23|270|271) /.test(readFileSync(`/proc/${client.pid}/syscall`, 'utf8'));
          } catch {
            return false;
          }
        };
        for (const deadline = Date.now() + 10_000; !waiting();) {
          if (Date.now() > deadline) throw new Error('s_client did not finish its handshake in 10 s');
          await new Promise((r) => setTimeout(r, 50));
        }
        await new Promise((r) => setTimeout(r, 200)); // s_server back in its read
        const live = new LiveSensor({ ports: [port], tls: true, sslBio: true });
        try {
          await bioProbesOn(live.source, mappedLibcrypto(server.pid));
          client.stdin.write('GET /index.html HTTP/1.0\r\n\r\n');
          await exited;
          expect(out).toContain(PAGE);
          const written = () => live.events.filter((e) => e.type === 'data' && e.pid === server.pid && e.tls && e.syscall === 'ssl_write');
          await live.until(() => written().length > 0, 's_server\'s response plaintext');
          // The socket's connection, not a pseudo-connection (pid--1-<SSL*>, dropped under a port filter anyway).
          for (const e of written()) expect(e.type === 'data' && e.conn).not.toMatch(/^\d+--1-/);
          expect(Buffer.concat(written().map((e) => Buffer.from(e.type === 'data' ? e.payload : []))).toString()).toContain(PAGE);
          // The request was read by a BIO_read that began before the probes.
          expect(live.events.some((e) => e.type === 'data' && e.pid === server.pid && e.tls && e.direction === 'ingress')).toBe(false);
        } finally {
          live.close();
        }
      } finally {
        client.kill();
      }
    });
  });

  it('OpenSSL 1.1.1 (libcrypto.so.1.1): s_server started after the sensor is found at its exec', async () => {
    const ssl11 = await openSsl11(); // cold: downloads and builds OpenSSL 1.1.1 (75 s to 3 min on 2 cores)
    const port = await freePort();
    const live = new LiveSpans({ ports: [port], tls: true, sslBio: true });
    let server: Server | undefined;
    try {
      server = await startServer(path.join(ssl11.prefix, 'bin/openssl'), ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', 'c', '-key', 'k', '-WWW', '-quiet'], port, { cwd: dir });
      const libcrypto = mappedLibcrypto(server.pid);
      expect(libcrypto.startsWith(ssl11.prefix)).toBe(true);
      await bioProbesOn(live.source, libcrypto);
      const curl = await curlTwo(port);
      await live.until((s) => s.length >= 4, '2 client and 2 server spans');
      await new Promise((r) => setTimeout(r, 300));
      expect(live.spans).toHaveLength(4);
      pairUp(live.spans, curl.pid, server.pid).forEach(expectNested);
      expectServerSpans(live.spans, server.pid, port);
    } finally {
      await live.close();
      await server?.stop();
    }
  }, 900_000);

  it('with sslBio on, curl to nginx (SSL_read/SSL_write) still makes one span per request and end', async () => {
    const port = await freePort();
    writeFileSync(path.join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log; events { worker_connections 256; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port} ssl; root ${dir}; ssl_certificate ${dir}/c; ssl_certificate_key ${dir}/k;
    location /api/ { return 200 "ok\\n"; } } }`);
    const nginx = await startServer('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], port);
    const live = new LiveSpans({ ports: [port], tls: true, sslBio: true });
    try {
      await bioProbesOn(live.source, mappedLibcrypto(nginx.pid));
      const base = `https://127.0.0.1:${port}`;
      const curl = await run('curl', ['-sSk', '--http1.1', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', `${base}/index.html`, `${base}/api/a`, `${base}/api/b`]);
      expect(curl.code, curl.stderr).toBe(0);
      await live.until((s) => s.length >= 6, '3 client and 3 server spans');
      await new Promise((r) => setTimeout(r, 500));
      expect(live.spans).toHaveLength(6);
      const pairs = pairUp(live.spans, curl.pid, nginx.pid);
      expect(pairs.map(({ client, server }) => [client.name, server.name])).toEqual([
        ['GET /index.html', 'GET /index.html'], ['GET /api/a', 'GET /api/a'], ['GET /api/b', 'GET /api/b'],
      ]);
      pairs.forEach(expectNested);
    } finally {
      await live.close();
      await nginx.stop();
    }
  });
});
