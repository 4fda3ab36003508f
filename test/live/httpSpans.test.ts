/**
 * HTTP/1.x spans from live traffic: nginx, a node server, curl, wrk and a
 * raw pipelining client, through the real sensor and pipeline. Asserts
 * count, kind, method, path, status, sizes, timing order and parentage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Span } from '../../src/spans/span.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { CLIENT, SERVER, expectNested, pairUp } from '../support/spanPairs.ts';
import { freePort, node24, run, startServer, type Server } from '../support/peers.ts';

const skipReason = bpfUnavailableReason();

describe.skipIf(skipReason)('HTTP/1.x spans from live traffic', () => {
  describe('nginx', () => {
    let nginx: Server;
    let port: number;
    let dir: string;
    const bigSize = 1024 * 1024 + 17;

    beforeAll(async () => {
      port = await freePort();
      dir = mkdtempSync(path.join(tmpdir(), 'hp-nginx-'));
      writeFileSync(path.join(dir, 'index.html'), '<h1>hello</h1>\n');
      writeFileSync(path.join(dir, 'big.bin'), Buffer.alloc(bigSize, 1));
      utimesSync(path.join(dir, 'index.html'), new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T00:00:00Z'));
      writeFileSync(path.join(dir, 'nginx.conf'), `daemon off; master_process off; worker_processes 1; pid ${dir}/nginx.pid;
error_log ${dir}/error.log; events { worker_connections 256; }
http { access_log off; sendfile on; keepalive_requests 100000; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port}; root ${dir};
    location /api/ { return 200 "ok\\n"; }
    location /boom { return 503 "down\\n"; } } }`);
      nginx = await startServer('/usr/sbin/nginx', ['-c', path.join(dir, 'nginx.conf'), '-p', dir], port);
    });
    afterAll(async () => nginx?.stop());

    it('keep-alive, HEAD, 304, 404, 503 and a 1 MiB body: one client and one server span each, nested', async () => {
      const live = new LiveSpans({ ports: [port] });
      try {
        const base = `http://127.0.0.1:${port}`;
        // One curl, one connection, several requests (keep-alive).
        const curl = await run('curl', ['-sS', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', '-o', '/dev/null', `${base}/index.html`, `${base}/api/users/42`, `${base}/missing`, `${base}/big.bin`]);
        expect(curl.code, curl.stderr).toBe(0);
        const head = await run('curl', ['-sS', '-I', `${base}/index.html`]);
        const cond = await run('curl', ['-sS', '-o', '/dev/null', '-H', 'If-Modified-Since: Thu, 01 Jan 2026 00:00:00 GMT', `${base}/index.html`]);
        const boom = await run('curl', ['-sS', '-o', '/dev/null', `${base}/boom`]);
        await live.until((s) => s.length >= 14, '7 client and 7 server spans');
        await new Promise((r) => setTimeout(r, 300));
        expect(live.spans).toHaveLength(14);

        const kept = pairUp(live.spans, curl.pid, nginx.pid);
        expect(kept.map(({ client }) => [client.name, client.attributes['http.response.status_code']])).toEqual([
          ['GET /index.html', 200], ['GET /api/users/{id}', 200], ['GET /missing', 404], ['GET /big.bin', 200],
        ]);
        kept.forEach(expectNested);
        const big = kept[3]!;
        expect(big.server.attributes['http.response.body.size']).toBe(bigSize);
        expect(big.client.attributes['http.response.body.size']).toBe(bigSize);
        expect(kept[1]!.server.attributes).toMatchObject({ 'url.path': '/api/users/42', 'http.route': '/api/users/{id}', 'http.request.method': 'GET', 'server.port': port, 'client.address': '127.0.0.1' });
        expect(kept[2]!.client.status).toEqual({ code: 2, message: 'HTTP 404' });
        expect(kept[2]!.server.status.code).toBe(0); // a 404 is the client's problem
        // All four on one connection: same client port.
        expect(new Set(kept.map(({ server }) => server.attributes['client.port'])).size).toBe(1);

        const [h] = pairUp(live.spans, head.pid, nginx.pid);
        expect(h!.client.attributes).toMatchObject({ 'http.request.method': 'HEAD', 'http.response.status_code': 200, 'http.response.body.size': 0 });
        const [c] = pairUp(live.spans, cond.pid, nginx.pid);
        expect(c!.server.attributes['http.response.status_code']).toBe(304);
        const [b] = pairUp(live.spans, boom.pid, nginx.pid);
        expect(b!.server.status.code).toBe(2);
        expect(b!.client.status.code).toBe(2);
      } finally {
        await live.close();
      }
    });

    it('a traceparent on the request is honoured by both spans', async () => {
      const live = new LiveSpans({ ports: [port] });
      try {
        const tp = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
        const curl = await run('curl', ['-sS', '-o', '/dev/null', '-H', `traceparent: ${tp}`, `http://127.0.0.1:${port}/api/x`]);
        expect(curl.code).toBe(0);
        await live.until((s) => s.length >= 2, 'two spans');
        const [{ client, server }] = pairUp(live.spans, curl.pid, nginx.pid) as [{ client: Span; server: Span }];
        expect(client.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
        expect(client.parentSpanId).toBe('00f067aa0ba902b7');
        expect(server.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
        expect(server.parentSpanId).toBe(client.spanId);
      } finally {
        await live.close();
      }
    });

    it('pipelined requests in one segment from a raw socket client', async () => {
      const live = new LiveSpans({ ports: [port] });
      try {
        const script = `import socket,sys
s=socket.create_connection(("127.0.0.1",${port}))
s.sendall(b"GET /api/a HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /api/b HTTP/1.1\\r\\nHost: x\\r\\n\\r\\nGET /index.html HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n")
d=b""
while True:
    c=s.recv(65536)
    if not c: break
    d+=c
print(d.count(b"HTTP/1.1 200"))`;
        const py = await run('python3', ['-c', script]);
        expect(py.stdout.trim()).toBe('3');
        await live.until((s) => s.length >= 6, 'three pairs');
        const pairs = pairUp(live.spans, py.pid, nginx.pid);
        expect(pairs.map(({ server }) => server.name)).toEqual(['GET /api/a', 'GET /api/b', 'GET /index.html']);
        pairs.forEach(expectNested);
      } finally {
        await live.close();
      }
    });

    it('wrk: every request becomes a span, or a counted loss', async () => {
      const live = new LiveSpans({ ports: [port], captureBytes: 4096 });
      try {
        const wrk = await run('wrk', ['-t1', '-c4', '-d2s', `http://127.0.0.1:${port}/api/load`]);
        expect(wrk.code, wrk.stderr).toBe(0);
        const requests = Number(/(\d+) requests in/.exec(wrk.stdout)?.[1]);
        expect(requests).toBeGreaterThan(100);
        await live.until((s) => s.filter((x) => x.kind === SERVER).length >= requests, `${requests} server spans`, 10_000).catch(() => {});
        const lost = Number(live.source.kernelCounters().ringbufLost);
        await live.close();
        const server = live.spans.filter((s) => s.kind === SERVER && s.resource['process.pid'] === nginx.pid);
        const client = live.spans.filter((s) => s.kind === CLIENT);
        const stats = live.pipeline.stats();
        process.stderr.write(`[wrk] requests=${requests} server=${server.length} client=${client.length} lost=${lost} stats=${JSON.stringify(stats)}\n`);
        // wrk counts responses it completed; requests in flight when it stops may be answered after.
        expect(server.length + lost + stats.parsers.http1!.unansweredRequests).toBeGreaterThanOrEqual(requests);
        expect(client.length).toBeGreaterThanOrEqual(requests - lost);
        expect(server.every((s) => s.name === 'GET /api/load' && s.attributes['http.response.status_code'] === 200)).toBe(true);
      } finally {
        await live.close();
      }
    });
  });

  describe('a node HTTP server', () => {
    let server: Server;
    let port: number;

    beforeAll(async () => {
      port = await freePort();
      const script = `require('http').createServer((q, s) => {
  let n = 0; q.on('data', (c) => n += c.length); q.on('end', () => {
    if (q.url === '/chunked') { s.write('a'.repeat(1000)); setTimeout(() => { s.write('b'.repeat(5000)); s.end(); }, 20); return; }
    s.writeHead(201, { 'content-type': 'application/json' }); s.end(JSON.stringify({ received: n }));
  });
}).listen(${port}, '127.0.0.1')`;
      server = await startServer(node24, ['-e', script], port);
    });
    afterAll(async () => server?.stop());

    it('chunked responses and POST bodies have the right sizes', async () => {
      const live = new LiveSpans({ ports: [port] });
      try {
        const chunked = await run('curl', ['-sS', '-o', '/dev/null', `http://127.0.0.1:${port}/chunked`]);
        const post = await run('curl', ['-sS', '-o', '/dev/null', '--data-binary', 'x'.repeat(3000), `http://127.0.0.1:${port}/items`]);
        expect(chunked.code).toBe(0);
        expect(post.code).toBe(0);
        await live.until((s) => s.length >= 4, 'two pairs');
        const [c] = pairUp(live.spans, chunked.pid, server.pid);
        expect(c!.server.attributes['http.response.body.size']).toBe(6000);
        expect(c!.client.attributes['http.response.body.size']).toBe(6000);
        expectNested(c!);
        const [p] = pairUp(live.spans, post.pid, server.pid);
        expect(p!.server.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.request.body.size': 3000, 'http.response.status_code': 201 });
        // node names its main thread MainThread: the executable says what it is.
        expect(p!.server.resource['service.name']).toBe('node');
        expect(p!.server.resource['process.executable.path']).toBe(node24);
      } finally {
        await live.close();
      }
    });
  });
});
