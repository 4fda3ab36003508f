import { describe, expect, it } from 'vitest';
import { looksLikeTlsClientHello } from './handshake.ts';
import { parseKeyLog } from './keyLog.ts';
import { MAX_RECORD_FRAGMENT } from './recordFramer.ts';
import { TlsDecryptor } from './tlsDecryptor.ts';
import { nodeCase, replay, sha256 } from './testdata/conversations.ts';
import type { NodeCase, Segment } from './testdata/conversations.ts';

const keylogOf = (c: NodeCase, edit: (line: string) => string | undefined = (l) => l) =>
  parseKeyLog(c.keylog.map(edit).filter((l) => l !== undefined).join('\n'));

/** A copy of the conversation whose first server segment (the ServerHello record) is edited. */
function withServerHello(segments: readonly Segment[], edit: (hello: Buffer, suiteAt: number) => void): Segment[] {
  const i = segments.findIndex((s) => s.from === 'server');
  const first = Buffer.from(segments[i]!.bytes);
  expect([first[0], first[5]]).toEqual([22, 2]); // handshake record, ServerHello
  edit(first, 44 + first[43]!);
  return segments.map((s, j) => (j === i ? { ...s, bytes: first } : s));
}

describe('TlsDecryptor when it cannot decrypt', () => {
  it('no key for the client random: no-keys, nothing decrypted', () => {
    for (const name of ['tls12-aes128gcm', 'tls13-aes128gcm']) {
      const c = nodeCase(name);
      const d = new TlsDecryptor(parseKeyLog('# empty\n'));
      const { chunks } = replay(d, c.connections[0]!.segments);
      expect(d.state).toBe('no-keys');
      expect(d.reason).toMatch(/^no key for client random [0-9a-f]{64}$/);
      expect(chunks).toEqual([]);
      expect(d.stats.records).toBe(0);
    }
  });

  it('a TLS 1.3 key log missing one secret: no-keys naming it', () => {
    const c = nodeCase('tls13-chacha20');
    const d = new TlsDecryptor(keylogOf(c, (l) => (l.startsWith('SERVER_TRAFFIC_SECRET_0') ? undefined : l)));
    replay(d, c.connections[0]!.segments);
    expect(d.state).toBe('no-keys');
    expect(d.reason).toMatch(/^key log lacks SERVER_TRAFFIC_SECRET_0 for client random/);
  });

  it.each([
    ['tls12-aes128gcm', 'CLIENT_RANDOM', /^record authentication failed at client record 4 \(application keys, record 0 of that epoch\)$/],
    ['tls12-cbc-mte', 'CLIENT_RANDOM', /^record authentication failed \(bad padding\) at client record 4/],
    ['tls13-aes256gcm', 'SERVER_HANDSHAKE_TRAFFIC_SECRET', /^record authentication failed at server record 3 \(handshake keys/],
    ['tls13-chacha20', 'SERVER_TRAFFIC_SECRET_0', /^record authentication failed at server record \d+ \(application keys, record 0/],
  ])('%s with a wrong %s: failed, counted, that direction stops', (name, label, reason) => {
    const c = nodeCase(name);
    const conn = c.connections[0]!;
    const flip = (l: string): string => (l.startsWith(`${label} `) ? `${l.slice(0, -2)}${l.endsWith('00') ? '01' : '00'}` : l);
    const d = new TlsDecryptor(keylogOf(c, flip));
    const { text } = replay(d, conn.segments);
    expect(d.state).toBe('failed');
    expect(d.reason).toMatch(reason);
    // A wrong TLS 1.2 master secret breaks both directions, a wrong 1.3 secret one.
    expect(d.stats.failedRecords).toBe(label === 'CLIENT_RANDOM' ? 2 : 1);
    // Only the direction with the wrong key stopped.
    if (label === 'SERVER_TRAFFIC_SECRET_0') expect(sha256(text.client)).toBe(conn.sent.client.sha256);
  });

  it('an unsupported cipher suite: unsupported, naming it', () => {
    const c = nodeCase('tls12-aes128gcm');
    const segments = withServerHello(c.connections[0]!.segments, (b, at) => b.writeUInt16BE(0xc0ac, at));
    const d = new TlsDecryptor(keylogOf(c));
    expect(replay(d, segments).chunks).toEqual([]);
    expect(d.state).toBe('unsupported');
    expect(d.reason).toBe('cipher suite 0xc0ac not supported');
  });

  it('TLS 1.0: unsupported', () => {
    const c = nodeCase('tls12-aes128gcm');
    const segments = withServerHello(c.connections[0]!.segments, (b) => b.writeUInt16BE(0x0301, 9));
    const d = new TlsDecryptor(keylogOf(c));
    replay(d, segments);
    expect([d.state, d.reason]).toEqual(['unsupported', 'TLS 1.0 not supported']);
  });

  it('a gap stops that direction with a reason; the other direction carries on', () => {
    const c = nodeCase('tls12-aes128gcm');
    const conn = c.connections[0]!;
    const d = new TlsDecryptor(keylogOf(c));
    const out = [];
    const lastClient = conn.segments.findLastIndex((s) => s.from === 'client');
    for (const [i, s] of conn.segments.entries()) {
      // The client's second request is lost from its middle on.
      if (s.from === 'client' && s.bytes.length > 1000 && i < lastClient) {
        out.push(...d.push('client', s.bytes.subarray(0, 100), s.tsNs));
        d.gap('client', s.bytes.length - 100);
        continue;
      }
      out.push(...d.push(s.from, s.bytes, s.tsNs));
    }
    expect(d.state).toBe('failed');
    expect(d.reason).toMatch(/^gap of \d+ bytes in the client stream after record \d+: record framing lost$/);
    const server = Buffer.concat(out.filter((x) => x.from === 'server').map((x) => x.bytes));
    expect(server.subarray(0, 9).toString()).toBe('HTTP/1.1 ');
    expect(server.length).toBeGreaterThan(17000);
  });

  it('a record claiming more than 2^14 + 2048 bytes: failed without buffering it', () => {
    const d = new TlsDecryptor(parseKeyLog(''));
    const header = Buffer.from([22, 3, 1, 0, 0]);
    header.writeUInt16BE(MAX_RECORD_FRAGMENT + 1, 3);
    expect(d.push('client', header, 1n)).toEqual([]);
    expect(d.state).toBe('failed');
    expect(d.reason).toMatch(/claims 18433 bytes/);
  });

  it('records waiting for the other direction are bounded', () => {
    const c = nodeCase('tls12-aes128gcm');
    const clientHello = c.connections[0]!.segments.find((s) => s.from === 'client')!;
    const d = new TlsDecryptor(keylogOf(c));
    d.push('client', clientHello.bytes, 1n);
    const record = Buffer.concat([Buffer.from([23, 3, 3, 0x40, 0]), Buffer.alloc(0x4000)]);
    for (let i = 0; i < 70; i++) d.push('client', record, 2n);
    expect(d.state).toBe('failed');
    expect(d.reason).toMatch(/waiting for the server's hello/);

    const tiny = new TlsDecryptor(keylogOf(c));
    tiny.push('client', clientHello.bytes, 1n);
    tiny.push('client', Buffer.concat(Array.from({ length: 5000 }, () => Buffer.from([23, 3, 3, 0, 0]))), 2n);
    expect(tiny.reason).toMatch(/4096 client records waiting for the server's hello/);
  });

  it.each([
    ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'), /not TLS: not a TLS record header/],
    ['application data first (mid-connection)', Buffer.from([23, 3, 3, 0, 4, 1, 2, 3, 4]), /does not start with a ClientHello/],
    ['a handshake record that is not a ClientHello', Buffer.from([22, 3, 1, 0, 4, 11, 0, 0, 0]), /does not start with a ClientHello/],
    ['a malformed ClientHello', Buffer.from([22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3]), /malformed ClientHello/],
  ])('%s from the client: failed with a reason', (_, bytes, reason) => {
    const d = new TlsDecryptor(parseKeyLog(''));
    expect(d.push('client', bytes, 1n)).toEqual([]);
    expect(d.state).toBe('failed');
    expect(d.reason).toMatch(reason);
  });

  it('a ClientHello split over two records is still found', () => {
    const c = nodeCase('tls12-aes128gcm');
    const conn = c.connections[0]!;
    const hello = conn.segments[0]!.bytes;
    expect(hello[0]).toBe(22);
    const body = hello.subarray(5, 5 + hello.readUInt16BE(3));
    const record = (part: Buffer): Buffer => Buffer.concat([Buffer.from([22, 3, 1, part.length >> 8, part.length & 0xff]), part]);
    const split = Buffer.concat([record(body.subarray(0, 10)), record(body.subarray(10)), hello.subarray(5 + body.length)]);
    const d = new TlsDecryptor(keylogOf(c));
    const { text } = replay(d, [{ ...conn.segments[0]!, bytes: split }, ...conn.segments.slice(1)]);
    expect(d.state).toBe('decrypting');
    expect(sha256(text.server)).toBe(conn.sent.server.sha256);
  });

  it('never throws on mutated, truncated or random input', () => {
    let seed = 12345;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const cases = ['tls12-aes128gcm', 'tls12-cbc-etm', 'tls13-hrr', 'tls13-keyupdate'].map(nodeCase);
    for (let round = 0; round < 300; round++) {
      const c = cases[round % cases.length]!;
      const segments = c.connections[0]!.segments.map((s) => ({ ...s, bytes: Buffer.from(s.bytes) }));
      const target = segments[rand(segments.length)]!;
      const mode = rand(4);
      if (mode === 0) {
        const at = rand(target.bytes.length);
        target.bytes[at] = target.bytes[at]! ^ (1 << rand(8));
      }
      else if (mode === 1) target.bytes = target.bytes.subarray(0, rand(target.bytes.length));
      else if (mode === 2) target.bytes = Buffer.from(Array.from({ length: rand(3000) }, () => rand(256)));
      else target.bytes.writeUInt16BE(rand(0x10000), Math.min(3, target.bytes.length - 2));
      const d = new TlsDecryptor(keylogOf(c));
      expect(() => {
        for (const s of segments) {
          d.push(s.from, s.bytes, s.tsNs);
          if (rand(50) === 0) d.gap(s.from, rand(1000));
        }
      }).not.toThrow();
      expect(['handshake', 'decrypting', 'no-keys', 'unsupported', 'failed']).toContain(d.state);
    }
  });
});

describe('looksLikeTlsClientHello', () => {
  it.each([
    ['a TLS 1.0-framed ClientHello (what 1.2/1.3 clients send)', [22, 3, 1, 2, 0, 1], true],
    ['a TLS 1.2-framed ClientHello', [22, 3, 3, 0, 200, 1, 0, 0], true],
    ['a ServerHello', [22, 3, 3, 0, 90, 2], false],
    ['application data', [23, 3, 3, 0, 90, 1], false],
    ['SSL 2 / not version 3', [22, 2, 0, 0, 90, 1], false],
    ['HTTP', [...Buffer.from('GET / ')], false],
    ['too short to tell', [22, 3, 1, 2, 0], false],
  ])('%s -> %s', (_, bytes, expected) => {
    expect(looksLikeTlsClientHello(Uint8Array.from(bytes))).toBe(expected);
  });

  it('accepts the first client segment of every recorded conversation', () => {
    for (const name of ['tls12-aes128gcm', 'tls13-hrr']) {
      expect(looksLikeTlsClientHello(nodeCase(name).connections[0]!.segments[0]!.bytes)).toBe(true);
    }
  });
});
