/**
 * The pipeline without a kernel: events as a source would deliver them,
 * spans out. One exchange seen from both ends on this host, and a long
 * run of hostile events that must neither throw nor grow without bound.
 */
import { describe, expect, it } from 'vitest';
import type { ConnOpenEvent, DataEvent, SensorEvent } from '../source/events.ts';
import type { Span } from '../spans/span.ts';
import { Pipeline } from './pipeline.ts';
import { SpanBuilder } from '../spans/spanBuilder.ts';

function collector(): { spans: Span[]; sink: { write(s: readonly Span[]): void; close(): Promise<void> } } {
  const spans: Span[] = [];
  return { spans, sink: { write: (s) => void spans.push(...s), close: async () => {} } };
}

const open = (conn: string, pid: number, role: 'client' | 'server', local: number, remote: number, ts: bigint): ConnOpenEvent => ({
  type: 'open', tsNs: ts, pid, tid: pid, conn, fd: 3, comm: role === 'client' ? 'curl' : 'nginx', role,
  origin: role === 'client' ? 'connect' : 'accept', family: 'ipv4',
  local: { address: '127.0.0.1', port: local }, remote: { address: '127.0.0.1', port: remote }, cgroupId: 1n,
});

const data = (conn: string, pid: number, direction: 'egress' | 'ingress', pos: number, text: string, ts: bigint): DataEvent => ({
  type: 'data', tsNs: ts, pid, tid: pid, conn, direction, pos, len: text.length, payload: Buffer.from(text, 'latin1'),
  syscall: 'write', afterLoss: false, lengthOnly: false, tls: false,
});

describe('Pipeline', () => {
  it('turns one exchange seen from both ends into a client span and its child server span', async () => {
    const { spans, sink } = collector();
    const p = new Pipeline(sink);
    const req = 'GET /orders/17 HTTP/1.1\r\nHost: shop:8080\r\n\r\n';
    const res = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    p.accept([
      open('c', 10, 'client', 50000, 8080, 1n),
      open('s', 20, 'server', 8080, 50000, 2n),
      data('c', 10, 'egress', 0, req, 3n),
      data('s', 20, 'ingress', 0, req, 4n),
      data('s', 20, 'egress', 0, res, 5n),
      data('c', 10, 'ingress', 0, res, 6n),
    ]);
    await p.close();
    expect(spans).toHaveLength(2);
    const server = spans.find((s) => s.kind === 2)!;
    const client = spans.find((s) => s.kind === 3)!;
    expect(server).toMatchObject({ name: 'GET /orders/{id}', parentSpanId: client.spanId, traceId: client.traceId, startTimeUnixNano: 4n, endTimeUnixNano: 5n });
    expect(client).toMatchObject({ parentSpanId: '', startTimeUnixNano: 3n, endTimeUnixNano: 6n });
    expect(server.attributes).toMatchObject({ 'client.port': 50000, 'server.port': 8080, 'server.address': 'shop' });
    expect(client.attributes).toMatchObject({ 'network.peer.port': 8080, 'server.address': 'shop' });
  });

  // Both ends of a keep-alive connection, where one end did not see every
  // exchange: parentage must follow the bytes, not the count of exchanges.
  const exchange = (n: number) => ({
    req: `GET /item/${n} HTTP/1.1\r\nHost: shop\r\n\r\n`,
    res: `HTTP/1.1 200 OK\r\nContent-Length: ${String(n).length}\r\n\r\n${n}`,
  });

  it('pairs by stream position: the server lost an exchange to a gap, the next one still names its own client span', async () => {
    const { spans, sink } = collector();
    const p = new Pipeline(sink);
    const [a, b, c] = [exchange(1), exchange(22), exchange(333)];
    const events: SensorEvent[] = [open('c', 10, 'client', 50000, 8080, 1n), open('s', 20, 'server', 8080, 50000, 2n)];
    let cp = 0, sp = 0, ts = 10n;
    for (const [i, x] of [a, b, c].entries()) {
      events.push(data('c', 10, 'egress', cp, x.req, ts++));
      // The server's copy of the second exchange was lost (ring buffer): its stream jumps over it.
      if (i !== 1) events.push(data('s', 20, 'ingress', cp, x.req, ts++), data('s', 20, 'egress', sp, x.res, ts++));
      events.push(data('c', 10, 'ingress', sp, x.res, ts++));
      cp += x.req.length;
      sp += x.res.length;
    }
    p.accept(events);
    await p.close();
    const clients = new Map(spans.filter((x) => x.kind === 3).map((x) => [x.name, x]));
    const servers = spans.filter((x) => x.kind === 2);
    expect([...clients.keys()]).toEqual(['GET /item/{id}']);
    expect(spans.filter((x) => x.kind === 3).map((x) => x.attributes['url.path'])).toEqual(['/item/1', '/item/22', '/item/333']);
    const clientOf = new Map(spans.filter((x) => x.kind === 3).map((x) => [x.spanId, x.attributes['url.path']]));
    // Every server span the parser kept names the client span of the same request.
    for (const srv of servers) expect(clientOf.get(srv.parentSpanId)).toBe(srv.attributes['url.path']);
    expect(servers.length).toBeGreaterThanOrEqual(1);
  });

  it('does not pair the ends of a connection older than the sensor: they may have seen different exchanges', async () => {
    const { spans, sink } = collector();
    const p = new Pipeline(sink);
    const [a, b] = [exchange(1), exchange(2)];
    const existing = (o: ConnOpenEvent): ConnOpenEvent => ({ ...o, origin: 'existing' });
    // The client's stream begins one exchange earlier than the server's: same sizes, so counts and positions both line up wrongly.
    p.accept([
      existing(open('c', 10, 'client', 50000, 8080, 1n)),
      existing(open('s', 20, 'server', 8080, 50000, 2n)),
      data('c', 10, 'egress', 0, a.req, 3n),
      data('c', 10, 'ingress', 0, a.res, 4n),
      data('c', 10, 'egress', a.req.length, b.req, 5n),
      data('s', 20, 'ingress', 0, b.req, 6n),
      data('s', 20, 'egress', 0, b.res, 7n),
      data('c', 10, 'ingress', a.res.length, b.res, 8n),
    ]);
    await p.close();
    expect(spans.filter((x) => x.kind === 3)).toHaveLength(2);
    const server = spans.find((x) => x.kind === 2)!;
    expect(server.parentSpanId).toBe('');
  });

  it.each([
    ['collapse', 'GET /orders/{id}', '/orders/{id}'],
    ['raw', 'GET /orders/17', '/orders/17'],
  ] as const)('routes %s: span name %s', async (routes, name, route) => {
    const { spans, sink } = collector();
    const spanBuilder = new SpanBuilder();
    spanBuilder.routes = routes;
    const p = new Pipeline(sink, { spanBuilder });
    p.accept([
      open('s', 20, 'server', 8080, 50000, 1n),
      data('s', 20, 'ingress', 0, 'GET /orders/17?x=1 HTTP/1.1\r\nHost: h\r\n\r\n', 2n),
      data('s', 20, 'egress', 0, 'HTTP/1.1 204 No Content\r\n\r\n', 3n),
    ]);
    await p.close();
    expect(spans.map((s) => [s.name, s.attributes['http.route'], s.attributes['url.path']])).toEqual([[name, route, '/orders/17']]);
  });

  it('survives random events: no throw, bounded connections, well-formed spans', async () => {
    let seed = 42;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
    const fragments = [
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      '\x00\x00\x00\x04\x00\x00\x00\x00\x00', 'Transfer-Encoding: chunked\r\n', 'ffffffff\r\n', '\r\n\r\n', '\x00\x00\x05\x00\x01\x00\x00\x00\x01abcde',
    ];
    const { spans, sink } = collector();
    const p = new Pipeline(sink, { limits: { maxConnections: 64, idleTimeoutNs: 1_000_000n, inferenceBytes: 4096 } });
    const pos = new Map<string, number[]>();
    for (let batch = 0; batch < 300; batch++) {
      const events: SensorEvent[] = [];
      for (let i = 0; i < 100; i++) {
        const ts = BigInt(batch * 1000 + i);
        const conn = `c${Math.floor(rand() * 200)}`;
        const r = rand();
        if (r < 0.05) {
          events.push(open(conn, 1 + Math.floor(rand() * 5), rand() < 0.5 ? 'client' : 'server', 1000, 2000, ts));
          pos.set(conn, [0, 0]);
        } else if (r < 0.08) {
          events.push({ type: 'close', tsNs: ts, pid: 1, tid: 1, conn, egressBytes: 0, ingressBytes: 0 });
        } else if (r < 0.09) {
          events.push({ type: 'exit', tsNs: ts, pid: 1 + Math.floor(rand() * 5), tid: 1, ppid: 1, comm: 'x', cgroupId: 0n });
        } else {
          const dir = rand() < 0.5 ? 'egress' : 'ingress';
          const d = dir === 'egress' ? 0 : 1;
          const p0 = pos.get(conn) ?? [0, 0];
          let text = rand() < 0.6 ? pick(fragments) : '';
          while (text.length < 3 || rand() < 0.3) text += String.fromCharCode(Math.floor(rand() * 256));
          // Sometimes out of order, overlapping, or with a hole; sometimes capped.
          const at = rand() < 0.1 ? Math.max(0, p0[d]! - 3) : rand() < 0.1 ? p0[d]! + 50 : p0[d]!;
          const ev = data(conn, 1, dir, at, text, ts);
          events.push(rand() < 0.1 ? { ...ev, len: ev.len + 1000 } : ev);
          p0[d] = Math.max(p0[d]!, at + ev.len);
          pos.set(conn, p0);
        }
      }
      p.accept(events);
      expect(p.stats().tracker.connections).toBeLessThanOrEqual(64);
    }
    await p.close();
    for (const s of spans) {
      expect(s.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(s.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(s.startTimeUnixNano <= s.endTimeUnixNano).toBe(true);
    }
    const stats = p.stats();
    expect(stats.tracker.connections).toBe(0);
    expect(stats.tracker.gaps).toBeGreaterThan(0);
    expect(stats.tracker.evictedLru + stats.tracker.evictedIdle).toBeGreaterThan(0);
  });
});
