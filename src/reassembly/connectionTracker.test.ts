/**
 * A connection whose TLS plaintext arrives after its handshake (socket
 * bytes): the tracker drops the ciphertext and parses the plaintext from
 * its own positions; ciphertext arriving later is never parsed.
 */
import { describe, expect, it } from 'vitest';
import type { ConnOpenEvent, DataEvent } from '../source/events.ts';
import type { Exchange } from '../protocols/contract.ts';
import { PROTOCOLS } from '../protocols/registry.ts';
import { ConnectionTracker, type ConnContext } from './connectionTracker.ts';

const open: ConnOpenEvent = {
  type: 'open', tsNs: 1n, pid: 10, tid: 10, conn: 'c', fd: 3, comm: 'curl', role: 'client', origin: 'connect', family: 'ipv4',
  local: { address: '127.0.0.1', port: 50000 }, remote: { address: '127.0.0.1', port: 443 }, cgroupId: 1n,
};

const data = (direction: 'egress' | 'ingress', pos: number, bytes: string | Buffer, tls: boolean, ts: bigint): DataEvent => {
  const payload = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
  return {
    type: 'data', tsNs: ts, pid: 10, tid: 10, conn: 'c', direction, pos, len: payload.length, payload,
    syscall: tls ? (direction === 'egress' ? 'ssl_write' : 'ssl_read') : 'write', afterLoss: false, lengthOnly: false, tls,
  };
};

// A ClientHello's first bytes and a ServerHello's: what a TLS handshake looks like on the socket.
const clientHello = Buffer.from('16030100c4010000c00303' + '11'.repeat(180), 'hex');
const serverHello = Buffer.from('160303007a020000760303' + '22'.repeat(120), 'hex');
const request = 'GET /secure HTTP/1.1\r\nHost: shop\r\n\r\n';
const response = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';

describe('ConnectionTracker and TLS plaintext', () => {
  it.each([
    ['after the handshake was judged an unknown protocol', [data('egress', 0, clientHello, false, 2n), data('ingress', 0, serverHello, false, 3n)]],
    ['while the handshake was still being inferred', [data('egress', 0, clientHello.subarray(0, 3), false, 2n)]],
    ['with no socket bytes before', []],
  ])('parses the plaintext from position 0 %s', (_what, before) => {
    const seen: Array<{ ctx: ConnContext; ex: Exchange }> = [];
    const t = new ConnectionTracker(PROTOCOLS, (ctx, ex) => seen.push({ ctx, ex }));
    t.handle(open);
    for (const ev of before) t.handle(ev);
    t.handle(data('egress', 0, request, true, 10n));
    t.handle(data('egress', 2000, 'late ciphertext', false, 11n)); // in flight when TLS took over
    t.handle(data('ingress', 0, response, true, 12n));
    t.closeAll();
    expect(seen).toHaveLength(1);
    expect(seen[0]!.ctx.tls).toBe(true);
    expect(seen[0]!.ctx.protocol).toBe('http1');
    const stats = t.stats();
    expect(stats.unknownProtocol).toBe(0);
    expect(stats.ciphertextDropped).toBe(1);
    expect(t.parserStats().http1?.invalidBytes ?? 0).toBe(0);
  });
});
