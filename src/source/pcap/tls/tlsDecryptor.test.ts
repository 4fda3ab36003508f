import { sharedCapturesMissing } from '../../../../test/support/sharedCaptures.ts';
import { describe, expect, it } from 'vitest';
import { HandshakeReader, parseServerHello } from './handshake.ts';
import type { ServerHello } from './handshake.ts';
import { parseKeyLog } from './keyLog.ts';
import { ContentType, RecordFramer } from './recordFramer.ts';
import { TlsDecryptor } from './tlsDecryptor.ts';
import { captureStream, nodeCase, nodeCases, plaintextOf, replay, sha256 } from './testdata/conversations.ts';
import type { Segment } from './testdata/conversations.ts';

/** The server's plaintext handshake before encryption starts: its hellos and message types. */
function serverPlaintextHandshake(segments: readonly Segment[]): { hellos: ServerHello[]; types: number[] } {
  const framer = new RecordFramer();
  const reader = new HandshakeReader([2]);
  const hellos: ServerHello[] = [];
  const types: number[] = [];
  for (const s of segments.filter((x) => x.from === 'server')) {
    for (const r of framer.push(s.bytes, s.tsNs)) {
      if (r.type === ContentType.applicationData || (r.type === ContentType.changeCipherSpec && hellos.at(-1)?.version !== 0x0304)) {
        return { hellos, types };
      }
      if (r.type !== ContentType.handshake) continue;
      for (const m of reader.push(r.fragment)) {
        types.push(m.type);
        if (m.type === 2) hellos.push(parseServerHello(m.body!)!);
      }
    }
  }
  return { hellos, types };
}

function countMatches(text: Buffer, re: RegExp): number {
  return (text.toString('latin1').match(re) ?? []).length;
}

describe.skipIf(sharedCapturesMissing())('TlsDecryptor on the shared TLS 1.2 captures (Zeek test suite)', () => {
  it.each([
    ['zeek-tls12-decryption', 1],
    ['zeek-tls12-stream-keylog', 16],
  ])('%s: decrypts %i HTTP/1.1 exchanges', (name, exchanges) => {
    const { segments, keylogText } = captureStream(name);
    const d = new TlsDecryptor(parseKeyLog(keylogText));
    const { chunks, text } = replay(d, segments);
    expect(d.state).toBe('decrypting');
    expect(d.cipherSuite).toBe('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384');
    expect(d.stats.failedRecords).toBe(0);
    expect(text.client.subarray(0, 4).toString()).toBe('GET ');
    expect(text.server.subarray(0, 9).toString()).toBe('HTTP/1.1 ');
    expect(countMatches(text.client, /^GET \/\S* HTTP\/1\.1\r\n/gm)).toBe(exchanges);
    expect(countMatches(text.server, /HTTP\/1\.1 \d{3} /g)).toBe(exchanges);
    expect(d.stats.decryptedBytes).toBe(text.client.length + text.server.length);
    // Each plaintext chunk carries the timestamp of a segment of its own direction.
    const stamps = new Set(segments.map((s) => `${s.from}${s.tsNs}`));
    for (const c of chunks) expect(stamps.has(`${c.from}${c.tsNs}`)).toBe(true);
  });
});

describe('TlsDecryptor on conversations recorded between Node tls peers', () => {
  const cases = nodeCases();
  it('covers the required versions and suites', () => {
    expect(cases.map((c) => c.cipher)).toEqual(expect.arrayContaining([
      'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
      'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-CHACHA20-POLY1305',
    ]));
  });

  for (const c of cases) {
    it(`${c.name}: ${c.what}: plaintext equals what each side sent`, () => {
      const keylog = parseKeyLog(c.keylog.join('\n'));
      for (const conn of c.connections) {
        const d = new TlsDecryptor(keylog);
        const { text } = replay(d, conn.segments);
        expect({ state: d.state, failed: d.stats.failedRecords }).toEqual({ state: 'decrypting', failed: 0 });
        for (const from of ['client', 'server'] as const) {
          expect(text[from].length, from).toBe(conn.sent[from].length);
          expect(sha256(text[from]), from).toBe(conn.sent[from].sha256);
        }
        expect(d.reason).toBe('client sent close_notify');
      }
    });
  }

  it('the HelloRetryRequest case really retried', () => {
    const { hellos } = serverPlaintextHandshake(nodeCase('tls13-hrr').connections[0]!.segments);
    expect(hellos.map((h) => h.helloRetryRequest)).toEqual([true, false]);
  });

  it('the CBC cases negotiated encrypt_then_mac and MAC-then-encrypt respectively', () => {
    expect(serverPlaintextHandshake(nodeCase('tls12-cbc-etm').connections[0]!.segments).hellos[0]!.encryptThenMac).toBe(true);
    expect(serverPlaintextHandshake(nodeCase('tls12-cbc-mte').connections[0]!.segments).hellos[0]!.encryptThenMac).toBe(false);
  });

  it('the TLS 1.2 resumption case resumed: no Certificate in the second handshake', () => {
    const [full, resumed] = nodeCase('tls12-resumption').connections;
    expect(serverPlaintextHandshake(full!.segments).types).toContain(11);
    expect(serverPlaintextHandshake(resumed!.segments).types).toEqual([2]);
  });

  it('follows KeyUpdates: requested by the client (both sides update), then unrequested', () => {
    const c = nodeCase('tls13-keyupdate');
    const d = new TlsDecryptor(parseKeyLog(c.keylog.join('\n')));
    const { text } = replay(d, c.connections[0]!.segments);
    expect(d.stats.keyUpdates).toBe(3);
    expect(text.client.toString()).toContain('third line after an unrequested update');
    expect(sha256(text.server)).toBe(c.connections[0]!.sent.server.sha256);
  });

  it('skips accepted 0-RTT early data (and EndOfEarlyData) like a server that rejects it, then decrypts', () => {
    const c = nodeCase('tls13-early-data');
    const [first, resumed] = c.connections;
    const keylog = parseKeyLog(c.keylog.join('\n'));
    expect(keylog.unusedLines).toBeGreaterThan(0); // CLIENT_EARLY_TRAFFIC_SECRET, not used
    const plain = new TlsDecryptor(keylog);
    replay(plain, first!.segments);
    expect(plain.stats.skippedRecords).toBe(0);
    const d = new TlsDecryptor(keylog);
    const { text } = replay(d, resumed!.segments);
    expect(d.stats.skippedRecords).toBe(2);
    expect(d.stats.failedRecords).toBe(0);
    expect(text.client.toString()).toBe('late line after the handshake\n');
  });

  it('gives the same plaintext whatever the chunking and however the directions interleave', () => {
    for (const name of ['tls13-hrr', 'tls12-cbc-mte']) {
      const c = nodeCase(name);
      const conn = c.connections[0]!;
      const keylog = parseKeyLog(c.keylog.join('\n'));
      const byteByByte: Segment[] = conn.segments.flatMap((s) => [...s.bytes].map((b) => ({ ...s, bytes: Buffer.of(b) })));
      const serverFirst = [...conn.segments.filter((s) => s.from === 'server'), ...conn.segments.filter((s) => s.from === 'client')];
      const clientFirst = [...conn.segments.filter((s) => s.from === 'client'), ...conn.segments.filter((s) => s.from === 'server')];
      for (const order of [byteByByte, serverFirst, clientFirst]) {
        const d = new TlsDecryptor(keylog);
        const { text } = replay(d, order);
        expect(d.state).toBe('decrypting');
        expect(sha256(text.client)).toBe(conn.sent.client.sha256);
        expect(sha256(text.server)).toBe(conn.sent.server.sha256);
      }
    }
  });

  it('stamps plaintext with the timestamp of the chunk that completed its record', () => {
    const c = nodeCase('tls12-aes128gcm');
    const conn = c.connections[0]!;
    // Re-chunk: every segment split in two, the halves stamped 2t and 2t+1.
    const halves: Segment[] = conn.segments.flatMap((s) => {
      const mid = s.bytes.length >> 1;
      return [{ ...s, bytes: s.bytes.subarray(0, mid), tsNs: s.tsNs * 2n }, { ...s, bytes: s.bytes.subarray(mid), tsNs: s.tsNs * 2n + 1n }];
    });
    const { chunks } = replay(new TlsDecryptor(parseKeyLog(c.keylog.join('\n'))), halves);
    expect(chunks.length).toBeGreaterThan(2);
    for (const chunk of chunks) {
      // Records never end in a first half here only if the segment boundary is a record boundary;
      // either way the stamp is one of the chunk timestamps of that direction.
      expect(halves.some((h) => h.from === chunk.from && h.tsNs === chunk.tsNs)).toBe(true);
    }
    // The first request is a single record in the first client data segment: completed by its second half.
    const firstRequestSegment = conn.segments.filter((s) => s.from === 'client').find((s) => s.bytes[0] === ContentType.applicationData)!;
    expect(chunks.find((x) => x.from === 'client')!.tsNs).toBe(firstRequestSegment.tsNs * 2n + 1n);
    expect(plaintextOf(chunks).client.subarray(0, 4).toString()).toBe('GET ');
  });
});
