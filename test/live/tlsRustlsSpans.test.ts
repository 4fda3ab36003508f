/**
 * TLS plaintext from rustls (test/peers/rust: HTTPS with std::net and
 * rustls's StreamOwned, and on tokio with tokio-rustls, server and client).
 * The uprobes sit on `<Writer as io::Write>::write`, `<Reader as
 * io::Read>::read`, and the pair tokio-rustls reads with instead,
 * `Reader::into_first_chunk` and `<Reader as BufRead>::consume`, found by
 * their mangled names. rustls makes no socket syscall inside any:
 * a read finds its socket through the thread's last TLS-looking read, a
 * write through the thread's next TLS write (bpf/lib/tls.h, 3 and 3b).
 * Every test filters on the server's port, under which plaintext that found
 * no socket is dropped: spans mean the keying worked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Span } from '../../src/spans/span.ts';
import { bpfUnavailableReason } from '../support/privileges.ts';
import { LiveSpans } from '../support/liveSpans.ts';
import { CLIENT, SERVER, expectNested, pairUp } from '../support/spanPairs.ts';
import { freePort, startServer, type Server } from '../support/peers.ts';
import { preparedPeerPaths } from '../support/grpcPeers.ts';
import { HttpsClient } from '../support/goPeers.ts';
import { leafCertificate, pythonHttpsAnswer } from '../support/pythonHttps.ts';
import { HTTPS_EXCHANGES as EXCHANGES, expectHttpsExchange as expectExchange, type HttpsExchange as Exchange } from '../support/httpsExchanges.ts';

const skipReason = bpfUnavailableReason();
/** The peer client's stdin line for one exchange. */
const line = (ex: Exchange) => `${ex.method} ${ex.path}${ex.body ? ` ${ex.body}` : ''}`;

describe.skipIf(skipReason)('TLS spans from rustls (uprobes on Writer::write and Reader::read)', () => {
  let peer: string;
  let stripped: string;
  let dir: string;
  let cert: { cert: string; key: string };
  let port: number;
  let server: Server;

  beforeAll(async () => {
    const paths = await preparedPeerPaths();
    peer = paths.get('rustls')!;
    stripped = paths.get('rustls_stripped')!;
    if (!peer || !stripped) throw new Error('test/peers/prepare.sh printed no rustls= or rustls_stripped= line');
    dir = mkdtempSync(path.join(tmpdir(), 'hp-rustls-'));
    cert = leafCertificate(dir);
    port = await freePort();
    server = await startServer(peer, ['https-server', String(port), cert.cert, cert.key], port);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('probes rustls in a Rust program by name, and names a stripped one as not traced', async () => {
    const other = await freePort();
    const strippedServer = await startServer(stripped, ['https-server', String(other), cert.cert, cert.key], other);
    const live = new LiveSpans({ ports: [port], tls: true });
    try {
      const tls = live.source.tls();
      expect(tls.attached.find((b) => b.path === peer)?.functions)
        .toEqual(['rustls Writer::write', 'rustls Writer::write_vectored', 'rustls Reader::read', 'rustls Reader::into_first_chunk', 'rustls Reader::consume']);
      expect(tls.skipped.find((s) => s.path.startsWith(stripped))?.reason)
        .toBe('carries rustls but no symbol table (stripped): its TLS traffic is not traced; keep symbols (Cargo\'s strip = false, the default) to trace it');
    } finally {
      await live.close();
      await strippedServer.stop();
    }
  });

  it.each([['std::net and StreamOwned (io::Read)', ''], ['tokio and tokio-rustls (write_vectored, into_first_chunk, consume)', 'tokio-']])('%s: a keep-alive client started after the sensor: nested client and server spans for every exchange', async (_what, mode) => {
    const tokioPort = await freePort();
    const srv = mode ? await startServer(peer, [`${mode}https-server`, String(tokioPort), cert.cert, cert.key], tokioPort) : server;
    const at = mode ? tokioPort : port;
    const live = new LiveSpans({ ports: [at], tls: true });
    const client = new HttpsClient(peer, '', 'h1', [`${mode}https-client`, String(at), cert.cert]);
    try {
      for (const ex of EXCHANGES) {
        const answer = pythonHttpsAnswer(ex.method, ex.path, ex.body ?? 0);
        expect(await client.send(line(ex))).toBe(`${answer.status} ${answer.body.length}`);
      }
      await live.until((s) => s.length >= 2 * EXCHANGES.length, `${EXCHANGES.length} client and ${EXCHANGES.length} server spans`);
      await new Promise((r) => setTimeout(r, 300)); // no more than those
      expect(live.spans).toHaveLength(2 * EXCHANGES.length);
      const pairs = pairUp(live.spans, client.pid, srv.pid);
      expect(pairs).toHaveLength(EXCHANGES.length);
      pairs.forEach(expectNested);
      for (const [i, ex] of EXCHANGES.entries()) {
        expectExchange(pairs[i]!.client, ex, CLIENT, at);
        expectExchange(pairs[i]!.server, ex, SERVER, at);
      }
      expect(new Set(pairs.map(({ server: s }) => s.attributes['client.port'])).size).toBe(1);
      expect(live.pipeline.stats().parsers.http1).toMatchObject({ invalidBytes: 0, orphanResponses: 0 });
      expect(live.pipeline.stats().tracker.unknownProtocol).toBe(0);
    } finally {
      await client.end();
      await live.close();
      if (mode) await srv.stop();
    }
  });

  it('a connection opened before the sensor: client spans for every later exchange, server spans from its next read on', async () => {
    // The server's thread waits in the socket read for the next request:
    // that read began before the sensor, so the syscall's exit names no
    // socket (its fd is an argument of the entry), and the plaintext
    // rustls then hands over finds none: under the port filter it is
    // dropped. Its response is sent with nothing to pair with. From the
    // next read on, all is seen; the client sees every exchange (its
    // records' write claims the plaintext: bpf/lib/tls.h, 3b).
    const client = new HttpsClient(peer, '', 'h1', ['https-client', String(port), cert.cert]);
    let live: LiveSpans | undefined;
    try {
      expect(await client.send('GET /orders/16')).toBe('200 20');
      live = new LiveSpans({ ports: [port], tls: true });
      for (const ex of EXCHANGES) await client.send(line(ex));
      await live.until((s) => s.length >= 2 * EXCHANGES.length - 1, `${EXCHANGES.length} client and ${EXCHANGES.length - 1} server spans`);
      await new Promise((r) => setTimeout(r, 300));
      const byStart = (a: Span, b: Span) => (a.startTimeUnixNano < b.startTimeUnixNano ? -1 : 1);
      const clientSpans = live.spans.filter((s) => s.kind === CLIENT).sort(byStart);
      const serverSpans = live.spans.filter((s) => s.kind === SERVER).sort(byStart);
      expect(clientSpans).toHaveLength(EXCHANGES.length);
      expect([EXCHANGES.length - 1, EXCHANGES.length]).toContain(serverSpans.length);
      const seen = EXCHANGES.slice(EXCHANGES.length - serverSpans.length);
      for (const [i, ex] of seen.entries()) expectExchange(serverSpans[i]!, ex, SERVER, port);
      for (const [i, ex] of EXCHANGES.entries()) expectExchange(clientSpans[i]!, ex, CLIENT, port);
    } finally {
      await client.end();
      await live?.close();
    }
  });
});
