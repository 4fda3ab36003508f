/**
 * TLS plaintext through uprobes on OpenSSL: curl (libssl.so.3) to nginx
 * (libssl.so.3), node's https client and server (OpenSSL inside the node
 * binary, memory BIOs), curl --http2 to a node http2 secure server. Both
 * ends of each exchange are traced; spans carry url.scheme https; no
 * ciphertext reaches the parsers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Span } from '../../src/spans/span.ts';
import type { DataEvent } from '../../src/source/events.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { CLIENT, SERVER, expectNested, pairUp } from '../support/spanPairs.ts';
import { LiveSensor } from '../support/liveSensor.ts';
import { freePort, node24, run, startServer, type Server } from '../support/peers.ts';

const skipReason = bpfUnavailableReason();

/** Every span is https, and nothing was parsed from ciphertext. */
function expectNoCiphertextParsed(live: LiveSpans): void {
  for (const s of live.spans) expect(s.attributes['url.scheme'], s.name).toBe('https');
  const stats = live.pipeline.stats();
  expect(stats.tracker.unknownProtocol).toBe(0);
  for (const [name, p] of Object.entries(stats.parsers)) {
    expect(p.invalidBytes, `${name} invalid bytes`).toBe(0);
    expect(p.orphanResponses, `${name} orphan responses`).toBe(0);
  }
}

describe.skipIf(skipReason)('TLS spans through uprobes on OpenSSL', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-days', '1',
      '-keyout', path.join(dir, 'k'), '-out', path.join(dir, 'c')], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('attaches to libssl.so.3 and to the node binary at start, and says so', () => {
    const live = new LiveSensor({ ports: [1], tls: true });
    try {
      const tls = live.source.tls();
      const paths = tls.attached.map((b) => b.path);
      expect(paths.some((p) => path.basename(p) === 'libssl.so.3')).toBe(true);
      const node = tls.attached.find((b) => b.kind === 'executable' && b.path === path.resolve(node24));
      expect(node?.functions).toEqual(['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex']);
      expect(node?.links).toHaveLength(8);
      expect(tls.summary).toMatch(/^TLS uprobes on \d+ binaries: .*libssl\.so\.3/);
      // Each binary (device, inode) once, however many processes map it.
      expect(new Set(tls.attached.map((b) => b.openedAs)).size).toBe(tls.attached.length);
      // OpenSSL's; the Go programs (crypto/tls, grpc-go headers) are attached only where a Go binary runs (goTlsSpans.test.ts).
      // The SSL BIO pair is loaded but attached only with sslBio (tlsBioSpans.test.ts); rustls's
      // where a Rust program carries it (tlsRustlsSpans.test.ts).
      const uprobes = live.source.programs().filter((p) => /^u(ret)?probe/.test(p.section) && !p.name.startsWith('hp_up_go_') && !p.name.endsWith('_ssl_bio') && !p.name.includes('_rustls'));
      expect(uprobes).toHaveLength(6); // 4 entries, 2 returns (bpf/sensor.bpf.c)
      expect(uprobes.every((p) => p.loaded && p.attached)).toBe(true);
    } finally {
      live.close();
    }
  });

  describe('curl and nginx (libssl.so.3)', () => {
    let nginx: Server;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      writeFileSync(path.join(dir, 'index.html'), '<h1>hello over tls</h1>\n');
      writeFileSync(path.join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log; events { worker_connections 256; }
http { access_log off; keepalive_requests 1000; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port} ssl http2; root ${dir}; ssl_certificate ${dir}/c; ssl_certificate_key ${dir}/k;
    location /api/ { return 200 "ok\\n"; }
    location /boom { return 503 "down\\n"; } } }`);
      nginx = await startServer('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], port);
    });
    afterAll(async () => nginx?.stop());

    it('keep-alive HTTP/1.1: one client and one server span per request, nested, https', async () => {
      const live = new LiveSpans({ ports: [port], tls: true });
      try {
        const base = `https://127.0.0.1:${port}`;
        const curl = await run('curl', ['-sSk', '--http1.1', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null',
          `${base}/index.html`, `${base}/api/users/42`, `${base}/missing`, `${base}/boom`]);
        expect(curl.code, curl.stderr).toBe(0);
        await live.until((s) => s.length >= 8, '4 client and 4 server spans');
        await new Promise((r) => setTimeout(r, 300));
        expect(live.spans).toHaveLength(8);
        const pairs = pairUp(live.spans, curl.pid, nginx.pid);
        expect(pairs.map(({ client, server }) => [client.name, server.name, client.attributes['http.response.status_code']])).toEqual([
          ['GET /index.html', 'GET /index.html', 200], ['GET /api/users/{id}', 'GET /api/users/{id}', 200],
          ['GET /missing', 'GET /missing', 404], ['GET /boom', 'GET /boom', 503],
        ]);
        pairs.forEach(expectNested);
        expect(pairs[0]!.client.attributes).toMatchObject({ 'url.scheme': 'https', 'url.path': '/index.html', 'http.response.body.size': 24, 'network.protocol.version': '1.1' });
        expect(pairs[1]!.server.attributes).toMatchObject({ 'url.scheme': 'https', 'url.path': '/api/users/42', 'server.port': port, 'client.address': '127.0.0.1' });
        expect(new Set(pairs.map(({ server }) => server.attributes['client.port'])).size).toBe(1);
        expect(pairs[3]!.server.status.code).toBe(2);
        expectNoCiphertextParsed(live);
      } finally {
        await live.close();
      }
    });

    it('HTTP/2 over TLS (ALPN h2): spans from both ends', async () => {
      const live = new LiveSpans({ ports: [port], tls: true });
      try {
        const curl = await run('curl', ['-sSk', '--http2', '-o', '/dev/null', '-o', '/dev/null', `https://127.0.0.1:${port}/api/h2`, `https://127.0.0.1:${port}/index.html`]);
        expect(curl.code, curl.stderr).toBe(0);
        await live.until((s) => s.length >= 4, 'two client and two server spans');
        const pairs = pairUp(live.spans, curl.pid, nginx.pid);
        expect(pairs.map(({ server }) => [server.name, server.attributes['http.response.status_code'], server.attributes['network.protocol.version']])).toEqual([
          ['GET /api/h2', 200, '2'], ['GET /index.html', 200, '2'],
        ]);
        pairs.forEach(expectNested);
        expectNoCiphertextParsed(live);
      } finally {
        await live.close();
      }
    });

    it('the ciphertext of a TLS connection stops at the sensor once its plaintext is known', async () => {
      const live = new LiveSensor({ ports: [port], tls: true });
      try {
        const curl = await run('curl', ['-sSk', '--http1.1', '-o', '/dev/null', `https://127.0.0.1:${port}/api/cipher`]);
        expect(curl.code, curl.stderr).toBe(0);
        await live.until((evs) => evs.filter((e) => e.type === 'close').length >= 2, 'both ends closed');
        for (const open of live.opens()) {
          const data = live.data(open.conn);
          const firstTls = data.findIndex((e) => e.tls);
          expect(firstTls, `${open.comm}: plaintext`).toBeGreaterThanOrEqual(0);
          // Before: the handshake, as socket bytes; after: only plaintext.
          expect(data.slice(firstTls).every((e) => e.tls)).toBe(true);
          expect(data.filter((e) => e.tls).map((e) => e.syscall)).toEqual(expect.arrayContaining(open.pid === curl.pid ? ['ssl_write', 'ssl_read'] : ['ssl_read', 'ssl_write']));
          const request = live.stream(open.conn, open.pid === curl.pid ? 'egress' : 'ingress');
          expect(Buffer.from(tlsBytes(data, open.pid === curl.pid ? 'egress' : 'ingress')).toString()).toMatch(/^GET \/api\/cipher HTTP\/1\.1\r\n/);
          expect(request.total).toBeGreaterThan(0);
        }
        expect(live.source.kernelCounters().tlsUnkeyed).toBe(0n);
      } finally {
        live.close();
      }
    });
  });

  describe('node https (OpenSSL inside the node binary, memory BIOs)', () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      const script = `const https = require('node:https'); const fs = require('node:fs');
https.createServer({ key: fs.readFileSync(${JSON.stringify(path.join(dir, 'k'))}), cert: fs.readFileSync(${JSON.stringify(path.join(dir, 'c'))}) }, (req, res) => {
  let n = 0; req.on('data', (d) => { n += d.length; });
  req.on('end', () => { res.statusCode = req.url.startsWith('/fail') ? 500 : 200; res.end('got ' + n + ' for ' + req.url); });
}).listen(${port}, '127.0.0.1');`;
      server = await startServer(node24, ['-e', script], port);
    });
    afterAll(async () => server?.stop());

    it('a keep-alive client and the server: nested spans, https, statuses and sizes', async () => {
      const live = new LiveSpans({ ports: [port], tls: true });
      try {
        const client = `const https = require('node:https');
const agent = new https.Agent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: false });
const call = (method, p, body) => new Promise((resolve, reject) => {
  const req = https.request({ host: '127.0.0.1', port: ${port}, method, path: p, agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
  req.on('error', reject); req.end(body);
});
(async () => { const out = [];
  out.push(await call('GET', '/orders/17'));
  out.push(await call('POST', '/orders', 'x'.repeat(1000)));
  out.push(await call('GET', '/fail'));
  agent.destroy(); console.log(out.join(' ')); })();`;
        const node = await run(node24, ['-e', client]);
        expect(node.stdout.trim(), node.stderr).toBe('200 200 500');
        await live.until((s) => s.length >= 6, '3 client and 3 server spans');
        await new Promise((r) => setTimeout(r, 300));
        expect(live.spans).toHaveLength(6);
        const pairs = pairUp(live.spans, node.pid, server.pid);
        expect(pairs.map(({ client: c }) => [c.name, c.attributes['http.response.status_code']])).toEqual([
          ['GET /orders/{id}', 200], ['POST /orders', 200], ['GET /fail', 500],
        ]);
        pairs.forEach(expectNested);
        expect(pairs[1]!.server.attributes).toMatchObject({ 'http.request.body.size': 1000, 'url.scheme': 'https' });
        expect(pairs[2]!.server.status.code).toBe(2);
        expect(new Set(pairs.map(({ server: s }) => s.attributes['client.port'])).size).toBe(1);
        expectNoCiphertextParsed(live);
        expect(live.source.kernelCounters().tlsUnkeyed).toBe(0n);
      } finally {
        await live.close();
      }
    });

    it('curl (libssl) to the node server, several connections in a row', async () => {
      const live = new LiveSpans({ ports: [port], tls: true });
      try {
        const pids: number[] = [];
        for (const p of ['/a', '/b', '/c']) {
          const curl = await run('curl', ['-sSk', '-o', '/dev/null', `https://127.0.0.1:${port}${p}`]);
          expect(curl.code, curl.stderr).toBe(0);
          pids.push(curl.pid);
        }
        await live.until((s) => s.length >= 6, '3 client and 3 server spans');
        const pairs = pids.flatMap((pid) => pairUp(live.spans, pid, server.pid));
        expect(pairs.map(({ server: s }) => s.name)).toEqual(['GET /a', 'GET /b', 'GET /c']);
        pairs.forEach(expectNested);
        expectNoCiphertextParsed(live);
      } finally {
        await live.close();
      }
    });
  });

  describe('HTTP/2 over TLS: curl --http2 to a node http2 secure server', () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      const script = `const h2 = require('node:http2'); const fs = require('node:fs');
const srv = h2.createSecureServer({ key: fs.readFileSync(${JSON.stringify(path.join(dir, 'k'))}), cert: fs.readFileSync(${JSON.stringify(path.join(dir, 'c'))}) });
srv.on('stream', (stream, headers) => { stream.respond({ ':status': headers[':path'] === '/missing' ? 404 : 200, 'content-type': 'text/plain' }); stream.end('hello ' + headers[':path']); });
srv.listen(${port}, '127.0.0.1');`;
      server = await startServer(node24, ['-e', script], port);
    });
    afterAll(async () => server?.stop());

    it('two streams on one connection: client and server spans, nested', async () => {
      const live = new LiveSpans({ ports: [port], tls: true });
      try {
        const curl = await run('curl', ['-sSk', '--http2', '-o', '/dev/null', '-o', '/dev/null', `https://127.0.0.1:${port}/items/7`, `https://127.0.0.1:${port}/missing`]);
        expect(curl.code, curl.stderr).toBe(0);
        await live.until((s) => s.length >= 4, 'two client and two server spans');
        const pairs = pairUp(live.spans, curl.pid, server.pid);
        expect(pairs.map(({ client, server: s }) => [client.name, s.name, s.attributes['http.response.status_code'], client.attributes['network.protocol.version']])).toEqual([
          ['GET /items/{id}', 'GET /items/{id}', 200, '2'], ['GET /missing', 'GET /missing', 404, '2'],
        ]);
        pairs.forEach(expectNested);
        expect(pairs[0]!.client.attributes['http.response.body.size']).toBe('hello /items/7'.length);
        expectNoCiphertextParsed(live);
      } finally {
        await live.close();
      }
    });
  });

  it('attaches to a binary started after the sensor (exec), reached through /proc/<pid>', async () => {
    // A copy of libssl at a path no library directory scan covers, loaded by
    // a program started after the sensor: only the exec follow-up finds it.
    const copy = path.join(dir, 'libssl.so.3');
    execFileSync('cp', ['/lib/x86_64-linux-gnu/libssl.so.3', copy]);
    const live = new LiveSensor({ ports: [1], tls: true });
    try {
      const before = live.source.tls().attached.length;
      const py = await run('python3', ['-c', `import ctypes,time; ctypes.CDLL(${JSON.stringify(copy)}); time.sleep(2.5)`]);
      expect(py.code, py.stderr).toBe(0);
      const after = live.source.tls().attached;
      expect(after.length).toBe(before + 1);
      expect(after.at(-1)).toMatchObject({ path: copy, kind: 'libssl' });
      expect(after.at(-1)!.openedAs).toMatch(/^\/proc\/\d+\/root\//);
    } finally {
      live.close();
    }
  });
});

function tlsBytes(data: DataEvent[], direction: 'egress' | 'ingress'): Buffer {
  return Buffer.concat(data.filter((e) => e.tls && e.direction === direction).sort((a, b) => a.pos - b.pos).map((e) => e.payload));
}
