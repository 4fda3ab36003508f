/**
 * TLS plaintext of Go programs (crypto/tls) through uprobes at the entry
 * and at each return instruction of (*tls.Conn).Read and Write: the Go peer
 * of test/peers as a net/http HTTPS server and client (HTTP/1.1 and HTTP/2
 * over TLS), both ends traced. Traffic started after the sensor, a
 * keep-alive connection opened before it, a position-independent build
 * started after the sensor (found by the exec follow-up), and a build
 * without DWARF, which is reported instead of traced; and grpc-go over TLS
 * (the echo peer's gRPC script, test/peers/README.md).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataEvent } from '../../src/source/events.ts';
import { loadAddon, sensorObjectPath } from '../../src/native/addon.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { LiveSensor } from '../support/liveSensor.ts';
import { CLIENT, SERVER, expectNested, pairUp } from '../support/spanPairs.ts';
import { freePort, run, startServer, type Server } from '../support/peers.ts';
import { goPeerBinaries, HttpsClient, httpsServerArgs, type GoPeerBinaries } from '../support/goPeers.ts';

const skipReason = bpfUnavailableReason();

/** Every span is https, and nothing was parsed from ciphertext. */
function expectNoCiphertextParsed(live: LiveSpans): void {
  for (const s of live.spans) expect(s.attributes['url.scheme'], s.name).toBe('https');
  const stats = live.pipeline.stats();
  expect(stats.tracker.unknownProtocol).toBe(0);
  for (const [name, p] of Object.entries(stats.parsers)) {
    expect(p.invalidBytes, `${name} invalid bytes`).toBe(0);
    expect(p.orphanResponses, `${name} orphan responses`).toBe(0);
    expect(p.unansweredRequests, `${name} unanswered requests`).toBe(0);
  }
}

/** Sends each request on the client; returns the status lines. */
async function sendAll(client: HttpsClient, requests: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of requests) out.push(await client.send(r));
  return out;
}

describe.skipIf(skipReason)('TLS spans of Go programs (crypto/tls uprobes)', () => {
  let peers: GoPeerBinaries;
  let server: Server;
  let noDwarf: Server;
  let port: number;

  beforeAll(async () => {
    peers = await goPeerBinaries();
    port = await freePort();
    server = await startServer(peers.go, httpsServerArgs(port), port);
    const other = await freePort();
    noDwarf = await startServer(peers.noDwarf, httpsServerArgs(other), other);
  });
  afterAll(async () => {
    await server?.stop();
    await noDwarf?.stop();
  });

  it('attaches to running Go binaries at start, and names the one without DWARF as not traced', () => {
    const lines: string[] = [];
    const live = new LiveSensor({ ports: [1], tls: true, log: (l) => lines.push(l) });
    try {
      const tls = live.source.tls();
      // Other Go programs with crypto/tls may run on the machine: this one is attached once.
      const go = tls.attached.filter((b) => b.kind === 'go' && b.path === peers.go);
      expect(go).toHaveLength(1);
      expect(tls.attached.some((b) => b.path === peers.noDwarf)).toBe(false);
      expect(go[0]!.functions).toEqual(['crypto/tls.(*Conn).Read', 'crypto/tls.(*Conn).Write']);
      expect(go[0]!.goVersion).toMatch(/^go1\.\d+/);
      // Two entries and one probe per return instruction (several each).
      expect(go[0]!.links.length).toBeGreaterThan(6);
      // The peer is also a grpc-go and net/http program: their header functions are probed with crypto/tls
      // (goGrpcHeadersSpans.test.ts, goHttp2HeadersSpans.test.ts).
      expect(tls.summary).toContain(`${peers.go} (Go crypto/tls + grpc-go, net/http headers, ${go[0]!.goVersion})`);
      // Named with the first process seen running it (ours, unless another test runs it too).
      const skipped = tls.skipped.find((s) => s.path.startsWith(`${peers.noDwarf} (pid `));
      expect(skipped?.path).toMatch(/ \(pid \d+\)$/);
      expect(skipped?.reason).toMatch(/^Go go1\.\d+.*: no DWARF \(linked with -w or -s\)/);
      expect(lines).toContain(`TLS: not traced: ${skipped!.path}: ${skipped!.reason}`);
      const programs = live.source.programs().filter((p) => p.name.startsWith('hp_up_go_tls'));
      expect(programs.map((p) => [p.name, p.loaded, p.attached])).toEqual([['hp_up_go_tls', true, true], ['hp_up_go_tls_ret', true, true]]);
    } finally {
      live.close();
    }
  });

  it('without the programs that read uprobe cookies (kernels before 5.15: Go\'s, the SSL BIO\'s), the rest of the sensor still loads', () => {
    const sensor = new (loadAddon().Sensor)({ objectPath: sensorObjectPath, attach: 'tracepoint', ringBufferBytes: 1 << 20, loadOnly: true, goTls: false });
    try {
      const programs = sensor.programs();
      const needCookies = /^(hp_up_go_|hp_u(r)?p_ssl_bio)/;
      expect(programs.filter((p) => p.name.startsWith('hp_up_go_tls')).map((p) => p.loaded)).toEqual([false, false]);
      expect(programs.filter((p) => needCookies.test(p.name)).some((p) => p.loaded)).toBe(false);
      const openssl = programs.filter((p) => /^hp_u(r)?p_ssl/.test(p.name) && !needCookies.test(p.name));
      expect(openssl.length).toBeGreaterThan(0);
      expect(openssl.every((p) => p.loaded)).toBe(true);
    } finally {
      sensor.close();
    }
  });

  it('HTTP/1.1 keep-alive started after the sensor: nested client and server spans, https, statuses and sizes', async () => {
    const live = new LiveSpans({ ports: [port], tls: true });
    const client = new HttpsClient(peers.go, `https://127.0.0.1:${port}`, 'h1');
    try {
      expect(await sendAll(client, ['GET /orders/17', 'POST /orders 1000', 'GET /fail'])).toEqual([
        '200 HTTP/1.1 20', '200 HTTP/1.1 20', '500 HTTP/1.1 15',
      ]);
      expect(await client.end()).toBe(0);
      await live.until((s) => s.length >= 6, '3 client and 3 server spans');
      await new Promise((r) => setTimeout(r, 300));
      expect(live.spans).toHaveLength(6);
      const pairs = pairUp(live.spans, client.pid, server.pid);
      expect(pairs.map(({ client: c, server: s }) => [c.name, s.name, c.kind, s.kind, c.attributes['http.response.status_code']])).toEqual([
        ['GET /orders/{id}', 'GET /orders/{id}', CLIENT, SERVER, 200],
        ['POST /orders', 'POST /orders', CLIENT, SERVER, 200],
        ['GET /fail', 'GET /fail', CLIENT, SERVER, 500],
      ]);
      pairs.forEach(expectNested);
      expect(pairs[0]!.client.attributes).toMatchObject({ 'url.path': '/orders/17', 'http.response.body.size': 20, 'network.protocol.version': '1.1', 'user_agent.original': 'Go-http-client/1.1' });
      expect(pairs[1]!.server.attributes).toMatchObject({ 'http.request.body.size': 1000, 'server.port': port, 'client.address': '127.0.0.1' });
      expect(pairs[2]!.server.status.code).toBe(2);
      expect(new Set(pairs.map(({ server: s }) => s.attributes['client.port'])).size).toBe(1);
      expectNoCiphertextParsed(live);
    } finally {
      await client.end();
      await live.close();
    }
  });

  it('HTTP/2 over TLS (ALPN h2): spans from both ends', async () => {
    const live = new LiveSpans({ ports: [port], tls: true });
    const client = new HttpsClient(peers.go, `https://127.0.0.1:${port}`, 'h2');
    try {
      expect(await sendAll(client, ['GET /items/7', 'GET /missing', 'POST /items 300'])).toEqual([
        '200 HTTP/2.0 18', '404 HTTP/2.0 18', '200 HTTP/2.0 18',
      ]);
      expect(await client.end()).toBe(0);
      await live.until((s) => s.length >= 6, '3 client and 3 server spans');
      const pairs = pairUp(live.spans, client.pid, server.pid);
      expect(pairs.map(({ client: c, server: s }) => [c.name, s.name, s.attributes['http.response.status_code'], c.attributes['network.protocol.version']])).toEqual([
        ['GET /items/{id}', 'GET /items/{id}', 200, '2'], ['GET /missing', 'GET /missing', 404, '2'], ['POST /items', 'POST /items', 200, '2'],
      ]);
      pairs.forEach(expectNested);
      expect(pairs[2]!.server.attributes['http.request.body.size']).toBe(300);
      expectNoCiphertextParsed(live);
    } finally {
      await client.end();
      await live.close();
    }
  });

  it('grpc-go over TLS: one client and one server span per call, codes and message counts, nested', async () => {
    const grpcPort = await freePort();
    const grpcServer = await startServer(peers.go, ['server', String(grpcPort), 'tls'], grpcPort);
    const live = new LiveSpans({ ports: [grpcPort], tls: true });
    try {
      const client = await run(peers.go, ['client', `127.0.0.1:${grpcPort}`, 'tls']);
      expect(client.code, client.stderr).toBe(0);
      // The script (test/peers/README.md): method, status code, request and response messages.
      const script: Array<[string, number, number, number]> = [
        ['Unary', 0, 1, 1], ['Unary', 0, 1, 1], ['ServerStream', 0, 1, 5], ['ClientStream', 0, 4, 1],
        ['Bidi', 0, 3, 3], ['Fail', 5, 1, 0], ['Slow', 4, 1, 0],
      ];
      expect((JSON.parse(client.stdout) as { calls: Array<{ method: string; code: number }> }).calls.map((c) => [c.method, c.code])).toEqual(script.map(([m, c]) => [m, c]));
      await live.until((s) => s.length >= 2 * script.length, `${script.length} client and ${script.length} server spans`);
      await new Promise((r) => setTimeout(r, 300));
      expect(live.spans).toHaveLength(2 * script.length);
      const pairs = pairUp(live.spans, client.pid, grpcServer.pid)
        .sort((a, b) => (a.client.startTimeUnixNano < b.client.startTimeUnixNano ? -1 : 1));
      expect(pairs.map(({ client: c, server: s }) => [
        s.attributes['rpc.method'], c.attributes['rpc.grpc.status_code'], s.attributes['rpc.grpc.status_code'],
        c.attributes['rpc.grpc.request.message_count'], c.attributes['rpc.grpc.response.message_count'],
      ])).toEqual(script.map(([method, code, requests, responses]) => [method, code, code, requests, responses]));
      for (const pair of pairs) {
        if (pair.server.attributes['rpc.method'] !== 'Slow') {
          expectNested(pair);
          continue;
        }
        // Both ends hold a timer for the same deadline and either may reset
        // the stream first: which span ends first is a race (grpcSpans.test.ts).
        const apart = pair.server.endTimeUnixNano - pair.client.endTimeUnixNano;
        expect(apart < 0n ? -apart : apart, 'Slow ends').toBeLessThan(50_000_000n);
        expect(pair.server.parentSpanId).toBe(pair.client.spanId);
      }
      for (const { server: s } of pairs) expect(s.attributes).toMatchObject({ 'rpc.system': 'grpc', 'rpc.service': 'hydrophone.test.Echo', 'network.protocol.version': '2', 'server.port': grpcPort });
      const stats = live.pipeline.stats();
      expect(stats.tracker.unknownProtocol).toBe(0);
      expect(stats.parsers.http2).toMatchObject({ invalidBytes: 0, orphanResponses: 0, unansweredRequests: 0 });
    } finally {
      await live.close();
      await grpcServer.stop();
    }
  });

  it('a keep-alive connection opened before the sensor: every exchange after it, at both ends, in order', async () => {
    const client = new HttpsClient(peers.go, `https://127.0.0.1:${port}`, 'h1');
    let live: LiveSpans | undefined;
    try {
      expect(await client.send('GET /before/1')).toBe('200 HTTP/1.1 19');
      // Both ends now sit in tls.Conn.Read (the client's read loop, the
      // server's next request) with no entry probe seen: their returns
      // recover the calls from Read's argument spill slots.
      live = new LiveSpans({ ports: [port], tls: true });
      expect(await sendAll(client, ['GET /after/2', 'GET /after/3', 'POST /after/4 10'])).toEqual([
        '200 HTTP/1.1 18', '200 HTTP/1.1 18', '200 HTTP/1.1 19',
      ]);
      expect(await client.end()).toBe(0);
      await live.until((s) => s.length >= 6, '3 client and 3 server spans');
      await new Promise((r) => setTimeout(r, 300));
      // Each end on its own: spans of a connection neither end saw open are
      // not paired across the ends (src/protocols/http1: pairing needs both
      // to have seen it open), so no parent is asserted here.
      const side = (pid: number, kind: number) => live!.spans.filter((s) => s.resource['process.pid'] === pid && s.kind === kind)
        .sort((a, b) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1))
        .map((s) => [s.name, s.attributes['url.path'], s.attributes['http.response.status_code'], s.attributes['http.request.body.size'], s.attributes['url.scheme']]);
      const expected = [
        ['GET /after/{id}', '/after/2', 200, 0, 'https'], ['GET /after/{id}', '/after/3', 200, 0, 'https'], ['POST /after/{id}', '/after/4', 200, 10, 'https'],
      ];
      expect(side(client.pid, CLIENT)).toEqual(expected);
      expect(side(server.pid, SERVER)).toEqual(expected);
      expect(live.spans).toHaveLength(6);
      expectNoCiphertextParsed(live);
    } finally {
      await client.end();
      await live?.close();
    }
  });

  it('the ciphertext of a Go TLS connection stops at the sensor once its plaintext is known', async () => {
    const live = new LiveSensor({ ports: [port], tls: true });
    const client = new HttpsClient(peers.go, `https://127.0.0.1:${port}`, 'h1');
    try {
      expect(await client.send('GET /api/cipher')).toBe('200 HTTP/1.1 21');
      expect(await client.end()).toBe(0);
      // The client exits without close(2) (the kernel closes its socket); the server closes its end.
      await live.until((evs) => evs.some((e) => e.type === 'exit' && e.pid === client.pid) && evs.some((e) => e.type === 'close' && e.pid === server.pid),
        'the client gone and the server connection closed');
      const opens = live.opens();
      expect(opens.map((o) => o.pid).sort()).toEqual([client.pid, server.pid].sort());
      for (const open of opens) {
        const data = live.data(open.conn);
        const firstTls = data.findIndex((e) => e.tls);
        expect(firstTls, `${open.comm}: plaintext`).toBeGreaterThanOrEqual(0);
        // Before: the handshake, as socket bytes; after: only plaintext.
        expect(data.slice(firstTls).every((e) => e.tls)).toBe(true);
        expect(new Set(data.filter((e) => e.tls).map((e) => e.syscall))).toEqual(new Set(['go_tls_read', 'go_tls_write']));
        const requestSide = open.pid === client.pid ? 'egress' : 'ingress';
        expect(plaintext(data, requestSide).toString()).toMatch(/^GET \/api\/cipher HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
        expect(plaintext(data, requestSide === 'egress' ? 'ingress' : 'egress').toString()).toMatch(/^HTTP\/1\.1 200 OK\r\n[^]*got 0 for \/api\/cipher$/);
      }
    } finally {
      await client.end();
      live.close();
    }
  });

  it('a position-independent build started after the sensor: found at exec, addresses moved by the load base', async () => {
    const piePort = await freePort();
    const live = new LiveSpans({ ports: [piePort], tls: true });
    let pieServer: Server | undefined;
    const client = () => new HttpsClient(peers.pie, `https://127.0.0.1:${piePort}`, 'h1');
    let c: HttpsClient | undefined;
    try {
      expect(live.source.tls().attached.some((b) => b.path === peers.pie)).toBe(false);
      pieServer = await startServer(peers.pie, httpsServerArgs(piePort), piePort);
      // The exec event reaches the attacher through the ring buffer: wait for it.
      const deadline = Date.now() + 5000;
      while (!live.source.tls().attached.some((b) => b.path === peers.pie) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const pie = live.source.tls().attached.find((b) => b.path === peers.pie);
      expect(pie, 'the PIE build attached after its exec').toMatchObject({ kind: 'go', openedAs: `/proc/${pieServer.pid}/exe` });
      c = client();
      expect(await sendAll(c, ['GET /pie/1', 'GET /fail/pie'])).toEqual(['200 HTTP/1.1 16', '500 HTTP/1.1 19']);
      expect(await c.end()).toBe(0);
      await live.until((s) => s.length >= 4, '2 client and 2 server spans');
      const pairs = pairUp(live.spans, c.pid, pieServer.pid);
      expect(pairs.map(({ server: s }) => [s.name, s.attributes['http.response.status_code']])).toEqual([['GET /pie/{id}', 200], ['GET /fail/pie', 500]]);
      pairs.forEach(expectNested);
      expectNoCiphertextParsed(live);
    } finally {
      await c?.end();
      await live.close();
      await pieServer?.stop();
    }
  });
});

function plaintext(data: DataEvent[], direction: 'egress' | 'ingress'): Buffer {
  return Buffer.concat(data.filter((e) => e.tls && e.direction === direction).sort((a, b) => a.pos - b.pos).map((e) => e.payload));
}
