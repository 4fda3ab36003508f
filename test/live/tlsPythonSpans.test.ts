/**
 * TLS plaintext from Python's ssl module: http.client and http.server
 * (test/peers/python/https.py) over _ssl, which calls SSL_read_ex and
 * SSL_write_ex in the system's libssl.so.3. One keep-alive connection per
 * client, started after the sensor, or opened before it and used after.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { CLIENT, SERVER, expectNested, pairUp } from '../support/spanPairs.ts';
import { freePort, run, type Server } from '../support/peers.ts';
import { pythonHttpsAnswer, pythonHttpsClientArgs, pythonHttpsScript, selfSigned, startPythonHttps } from '../support/pythonHttps.ts';
import { HTTPS_EXCHANGES as EXCHANGES, expectHttpsExchange as expectExchange, type HttpsExchange as Exchange } from '../support/httpsExchanges.ts';

const skipReason = bpfUnavailableReason();


/**
 * Nothing was parsed from ciphertext. (That the plaintext found its socket
 * shows in the spans themselves: under a port filter, plaintext without a
 * socket is dropped. The kernel's tlsUnkeyed counter is host-wide, so any
 * other TLS process on the machine moves it.)
 */
function expectPlaintextOnly(live: LiveSpans): void {
  expect(live.pipeline.stats().parsers.http1?.invalidBytes).toBe(0);
  expect(live.pipeline.stats().tracker.unknownProtocol).toBe(0);
}

describe.skipIf(skipReason)('TLS spans from Python\'s ssl module (libssl.so.3 through _ssl)', () => {
  let dir: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-tls-py-'));
    port = await freePort();
    server = await startPythonHttps(port, selfSigned(dir));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the interpreter reaches OpenSSL through a libssl.so.3 that the sensor probes', async () => {
    // A Python built with OpenSSL linked in statically would need other
    // probes: say so here rather than as missing spans below.
    const libssl = readFileSync(`/proc/${server.pid}/maps`, 'utf8').split('\n').map((l) => l.slice(l.indexOf('/'))).find((f) => /\/libssl\.so\.3$/.test(f));
    expect(libssl, 'libssl.so.3 mapped by the Python server').toBeDefined();
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      // The same file, whatever path the scan found it by (/lib or /usr/lib).
      const id = (f: string) => { const st = statSync(f); return `${st.dev}:${st.ino}`; };
      const attached = live.source.tls().attached.find((b) => id(b.openedAs) === id(libssl!));
      expect(attached?.functions).toEqual(['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex']);
    } finally {
      await live.close();
    }
  });

  // bio-client: ssl.SSLObject over memory BIOs, as asyncio does. Each
  // request is encrypted and sent by a new thread that never read the
  // socket, as grpc core's pool threads do: the plaintext finds its socket
  // through the thread's next TLS write (bpf/lib/tls.h, 3b). Its first
  // request is the POST: head and body in two SSL_write calls before that
  // socket write, so the held record is lengthened by the body.
  const postFirst = [EXCHANGES[1]!, EXCHANGES[0]!, ...EXCHANGES.slice(2)];
  it.each([
    ['an SSL socket (http.client)', 'client', EXCHANGES],
    ['memory BIOs, each request from a thread that never read the socket', 'bio-client', postFirst],
  ] as const)('a keep-alive client over %s, started after the sensor: nested client and server spans for every exchange', async (_what, mode, exchanges) => {
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      const client = await run('python3', pythonHttpsClientArgs(port, exchanges, undefined, mode));
      expect(client.code, client.stderr).toBe(0);
      const out = JSON.parse(client.stdout) as { statuses: number[] };
      expect(out.statuses).toEqual(exchanges.map((ex) => pythonHttpsAnswer(ex.method, ex.path, ex.body).status));
      await live.until((s) => s.length >= 2 * exchanges.length, `${exchanges.length} client and ${exchanges.length} server spans`);
      await new Promise((r) => setTimeout(r, 300)); // no more than those
      expect(live.spans).toHaveLength(2 * exchanges.length);
      const pairs = pairUp(live.spans, client.pid, server.pid);
      expect(pairs).toHaveLength(exchanges.length);
      pairs.forEach(expectNested);
      for (const [i, ex] of exchanges.entries()) {
        expectExchange(pairs[i]!.client, ex, CLIENT, port);
        expectExchange(pairs[i]!.server, ex, SERVER, port);
      }
      // One connection: one client port on the server's side.
      expect(new Set(pairs.map(({ server: s }) => s.attributes['client.port'])).size).toBe(1);
      expect(live.pipeline.stats().parsers.http1?.orphanResponses).toBe(0);
      expectPlaintextOnly(live);
    } finally {
      await live.close();
    }
  });

  it('a write over memory BIOs still held when a read ties its SSL* to the socket goes out before the next write', async () => {
    // bio-split: the head is encrypted (held for the next socket write),
    // the server's tickets are read (that SSL_read learns the socket), the
    // body is encrypted (now keyed at once), then both are sent. The head
    // must reach the stream first (bpf/lib/tls.h, hp_tls_flush_held).
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      const client = await run('python3', [pythonHttpsScript, 'bio-split', String(port), 'POST:/orders:1000']);
      expect(client.code, client.stderr).toBe(0);
      expect((JSON.parse(client.stdout) as { statuses: number[] }).statuses).toEqual([201]);
      await live.until((s) => s.length >= 2, 'a client and a server span');
      await new Promise((r) => setTimeout(r, 300));
      const pairs = pairUp(live.spans, client.pid, server.pid);
      expect(pairs).toHaveLength(1);
      const post = { method: 'POST', path: '/orders', body: 1000, name: 'POST /orders' };
      expectExchange(pairs[0]!.client, post, CLIENT, port);
      expectExchange(pairs[0]!.server, post, SERVER, port);
      expectPlaintextOnly(live);
    } finally {
      await live.close();
    }
  });

  it('a write over memory BIOs that its thread never sends is counted when the thread ends, and sent nowhere', async () => {
    // The thread encrypts a request (SSL_write into the BIO: held for the
    // thread's next TLS socket write, bpf/lib/tls.h 3b) and ends without
    // writing the socket. tlsUnkeyed is host-wide: other TLS programs may
    // add to it, never take from it.
    const script = ['import sys, threading', `sys.path.insert(0, ${JSON.stringify(path.dirname(pythonHttpsScript))})`, 'import https',
      `c = https.BioConnection(${port})`, 't = threading.Thread(target=c.tls.write, args=(b"GET /never HTTP/1.1\\r\\n\\r\\n",))',
      't.start()', 't.join()', 'print("written", flush=True)'].join('\n');
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      const before = live.source.kernelCounters().tlsUnkeyed;
      const r = await run('python3', ['-c', script]);
      expect(r.stdout.trim(), r.stderr).toBe('written');
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(live.source.kernelCounters().tlsUnkeyed - before).toBeGreaterThanOrEqual(1n);
      expect(live.spans).toEqual([]);
      expect(live.pipeline.stats().parsers.http1?.invalidBytes ?? 0).toBe(0);
    } finally {
      await live.close();
    }
  });

  it('a connection opened before the sensor: client spans for every later exchange, server spans from its next read on', async () => {
    // The first exchange happens before the sensor starts. After it, the
    // server's thread waits inside SSL_read_ex for the next request: that
    // call began before the uprobes, so its plaintext is never seen, and
    // the response to it arrives with no request (counted as an orphan,
    // never paired with a later request). That first request is a GET: a
    // body there would start the server's stream mid-message.
    const before: Exchange = { method: 'GET', path: '/orders/16', name: 'GET /orders/{id}' };
    const firstAfter: Exchange = { method: 'GET', path: '/orders/18', name: 'GET /orders/{id}' };
    const after = [firstAfter, ...EXCHANGES.slice(1)];
    let live: LiveSpans | undefined;
    try {
      const client = await run('python3', pythonHttpsClientArgs(port, [before, ...after], 1), {
        waitFor: 'held',
        input: 'go\n',
        beforeInput: async () => {
          live = new LiveSpans({ ports: [port], tls: true });
        },
      });
      expect(client.code, client.stderr).toBe(0);
      const sensor = live!;
      await sensor.until((s) => s.filter((x) => x.kind === CLIENT).length >= after.length, `${after.length} client spans`);
      await sensor.until((s) => s.filter((x) => x.kind === SERVER).length >= after.length - 1, `${after.length - 1} server spans`);
      await new Promise((r) => setTimeout(r, 300));
      const clientSpans = sensor.byPid(client.pid);
      expect(clientSpans).toHaveLength(after.length);
      for (const [i, ex] of after.entries()) expectExchange(clientSpans[i]!, ex, CLIENT, port);
      const serverSpans = sensor.byPid(server.pid);
      // Had the server not been waiting in SSL_read_ex yet, it would see the first exchange too.
      expect([after.length - 1, after.length]).toContain(serverSpans.length);
      const seen = after.slice(after.length - serverSpans.length);
      for (const [i, ex] of seen.entries()) expectExchange(serverSpans[i]!, ex, SERVER, port);
      // Not checked: the client span each server span names as parent. HTTP/1
      // pair keys count exchanges from the first one each side saw, so the
      // server, one exchange short, names the client span of the exchange
      // before its own (src/spans/spanBuilder.ts).

      expect(sensor.pipeline.stats().parsers.http1?.orphanResponses).toBe(after.length - serverSpans.length);
      expectPlaintextOnly(sensor);
    } finally {
      await live?.close();
    }
  });
});
