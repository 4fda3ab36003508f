import { describe, expect, it } from 'vitest';
import { Flag, FrameType, isPlausibleHeader, parseFrame, readFrameHeader } from './frames.ts';
import { concat, frame } from './testing.ts';

const u8 = (...b: number[]): Uint8Array => Uint8Array.from(b);
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));

describe('parseFrame: every frame type', () => {
  it.each([
    ['DATA', frame(FrameType.DATA, Flag.END_STREAM, 1, ascii('hi')), { kind: 'DATA', streamId: 1, endStream: true, data: ascii('hi'), padLength: 0 }],
    ['DATA padded', frame(FrameType.DATA, Flag.PADDED, 3, u8(2, 0x61, 0, 0)), { kind: 'DATA', streamId: 3, endStream: false, data: ascii('a'), padLength: 2 }],
    ['DATA padded, empty', frame(FrameType.DATA, Flag.PADDED, 3, u8(0)), { kind: 'DATA', streamId: 3, endStream: false, data: u8(), padLength: 0 }],
    ['HEADERS', frame(FrameType.HEADERS, Flag.END_HEADERS, 1, u8(0x82)), { kind: 'HEADERS', streamId: 1, endStream: false, endHeaders: true, block: u8(0x82), padLength: 0 }],
    [
      'HEADERS padded with priority',
      frame(FrameType.HEADERS, Flag.PADDED | Flag.PRIORITY | Flag.END_STREAM, 5, u8(1, 0x80, 0, 0, 3, 15, 0x82, 0x84, 0)),
      { kind: 'HEADERS', streamId: 5, endStream: true, endHeaders: false, priority: { dependency: 3, exclusive: true, weight: 16 }, block: u8(0x82, 0x84), padLength: 1 },
    ],
    ['PRIORITY', frame(FrameType.PRIORITY, 0, 7, u8(0, 0, 0, 1, 255)), { kind: 'PRIORITY', streamId: 7, priority: { dependency: 1, exclusive: false, weight: 256 } }],
    ['RST_STREAM', frame(FrameType.RST_STREAM, 0, 1, u8(0, 0, 0, 8)), { kind: 'RST_STREAM', streamId: 1, errorCode: 8 }],
    ['SETTINGS', frame(FrameType.SETTINGS, 0, 0, u8(0, 1, 0, 0, 1, 0, 0, 5, 0, 0, 0x40, 0)), { kind: 'SETTINGS', ack: false, settings: [[1, 256], [5, 16384]] }],
    ['SETTINGS ack', frame(FrameType.SETTINGS, Flag.ACK, 0), { kind: 'SETTINGS', ack: true, settings: [] }],
    [
      'PUSH_PROMISE padded',
      frame(FrameType.PUSH_PROMISE, Flag.END_HEADERS | Flag.PADDED, 1, u8(1, 0, 0, 0, 2, 0x82, 0)),
      { kind: 'PUSH_PROMISE', streamId: 1, endHeaders: true, promisedStreamId: 2, block: u8(0x82), padLength: 1 },
    ],
    ['PING', frame(FrameType.PING, Flag.ACK, 0, u8(1, 2, 3, 4, 5, 6, 7, 8)), { kind: 'PING', ack: true, opaque: u8(1, 2, 3, 4, 5, 6, 7, 8) }],
    ['GOAWAY', frame(FrameType.GOAWAY, 0, 0, u8(0, 0, 0, 9, 0, 0, 0, 2, 0x78)), { kind: 'GOAWAY', lastStreamId: 9, errorCode: 2, debug: ascii('x') }],
    ['WINDOW_UPDATE', frame(FrameType.WINDOW_UPDATE, 0, 0, u8(0x80, 0, 1, 0)), { kind: 'WINDOW_UPDATE', streamId: 0, increment: 256 }],
    ['CONTINUATION', frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, u8(0x84)), { kind: 'CONTINUATION', streamId: 1, endHeaders: true, block: u8(0x84) }],
  ])('%s', (_name, bytes, expected) => {
    expect(parseFrame(concat(bytes, u8(0xff)))).toEqual({ kind: 'frame', frame: expected, consumed: bytes.length });
  });

  it('ignores unknown frame types whole', () => {
    expect(parseFrame(frame(0x42, 0xff, 3, u8(1, 2, 3)))).toEqual({ kind: 'ignored', consumed: 12 });
  });

  it('needs the whole frame', () => {
    const f = frame(FrameType.PING, 0, 0, u8(1, 2, 3, 4, 5, 6, 7, 8));
    for (let n = 0; n < f.length; n++) expect(parseFrame(f.subarray(0, n))).toEqual({ kind: 'needMore' });
  });
});

describe('parseFrame: invalid frames', () => {
  it.each([
    ['a length over the maximum frame size', frame(FrameType.DATA, 0, 1, new Uint8Array(16_385)), 1],
    ['the reserved bit', frame(FrameType.DATA, 0, 0x8000_0001), 1],
    ['DATA on stream 0', frame(FrameType.DATA, 0, 0, u8(1)), 10],
    ['padding longer than the frame', frame(FrameType.DATA, Flag.PADDED, 1, u8(5, 0)), 11],
    ['padding on an empty frame', frame(FrameType.HEADERS, Flag.PADDED, 1), 9],
    ['HEADERS too short for its priority', frame(FrameType.HEADERS, Flag.PRIORITY, 1, u8(0, 0)), 11],
    ['PRIORITY of 4 octets', frame(FrameType.PRIORITY, 0, 1, u8(0, 0, 0, 0)), 13],
    ['RST_STREAM of 5 octets', frame(FrameType.RST_STREAM, 0, 1, u8(0, 0, 0, 0, 0)), 14],
    ['RST_STREAM on stream 0', frame(FrameType.RST_STREAM, 0, 0, u8(0, 0, 0, 0)), 13],
    ['SETTINGS of 5 octets', frame(FrameType.SETTINGS, 0, 0, u8(0, 1, 0, 0, 0)), 14],
    ['SETTINGS ack with a payload', frame(FrameType.SETTINGS, Flag.ACK, 0, u8(0, 1, 0, 0, 0, 0)), 15],
    ['SETTINGS on a stream', frame(FrameType.SETTINGS, 0, 1), 9],
    ['PUSH_PROMISE too short', frame(FrameType.PUSH_PROMISE, 0, 1, u8(0, 0)), 11],
    ['PING of 7 octets', frame(FrameType.PING, 0, 0, u8(1, 2, 3, 4, 5, 6, 7)), 16],
    ['PING on a stream', frame(FrameType.PING, 0, 1, u8(1, 2, 3, 4, 5, 6, 7, 8)), 17],
    ['GOAWAY of 7 octets', frame(FrameType.GOAWAY, 0, 0, u8(1, 2, 3, 4, 5, 6, 7)), 16],
    ['WINDOW_UPDATE of 3 octets', frame(FrameType.WINDOW_UPDATE, 0, 0, u8(1, 2, 3)), 12],
    ['CONTINUATION on stream 0', frame(FrameType.CONTINUATION, 0, 0, u8(1)), 10],
  ])('%s', (_what, bytes, skip) => {
    const r = parseFrame(bytes);
    expect(r.kind).toBe('invalid');
    expect(r.kind === 'invalid' && r.skip).toBe(skip);
  });
});

describe('plausible frame headers (resynchronisation)', () => {
  it.each([
    ['SETTINGS', frame(FrameType.SETTINGS, 0, 0, new Uint8Array(18)), true],
    ['HEADERS', frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, 1, new Uint8Array(30)), true],
    ['WINDOW_UPDATE on a stream', frame(FrameType.WINDOW_UPDATE, 0, 3, new Uint8Array(4)), true],
    ['an unknown type', frame(0x0a, 0, 0), false],
    ['an undefined flag', frame(FrameType.DATA, 0x2, 1), false],
    ['HEADERS on stream 0', frame(FrameType.HEADERS, 0, 0), false],
    ['PING on a stream', frame(FrameType.PING, 0, 1, new Uint8Array(8)), false],
    ['RST_STREAM of 8 octets', frame(FrameType.RST_STREAM, 0, 1, new Uint8Array(8)), false],
    ['the reserved bit', frame(FrameType.DATA, 0, 0x8000_0001), false],
    ['HTTP/1 text', new Uint8Array(Buffer.from('GET / HTTP/1.1\r\n')), false],
    ['a TLS record', Uint8Array.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]), false],
  ])('%s: %s', (_what, bytes, plausible) => {
    expect(isPlausibleHeader(readFrameHeader(bytes), 16_384)).toBe(plausible);
  });
});
