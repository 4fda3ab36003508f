/**
 * Inputs that never end, per protocol: junk, a message head or header
 * block that keeps growing, frames or chunks that keep coming. A parser
 * given one must hold no more than its cap, however much arrives.
 */
import fc from 'fast-check';
import type { Side } from '../../src/protocols/contract.ts';

export interface EndlessInput {
  readonly name: string;
  /** Bytes before the endless part, on either side (a request before an endless response...). */
  readonly prefix: ReadonlyArray<{ readonly side: Side; readonly bytes: Uint8Array }>;
  /** The side the endless part arrives on. */
  readonly side: Side;
  /** What arrives, over and over (a chunk per call). */
  readonly unit: Uint8Array;
}

const latin1 = (text: string) => new Uint8Array(Buffer.from(text, 'latin1'));
const repeat = (text: string, bytes: number) => latin1(text.repeat(Math.max(1, Math.floor(bytes / text.length))));
const chunkBytes = fc.integer({ min: 512, max: 64 * 1024 });
const side = fc.constantFrom<Side>('request', 'response');
/** Junk in chunks of any size, from a few bytes (many calls) to 64 KiB. */
const junk = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.uint8Array({ minLength: 1, maxLength: 64 * 1024, size: 'max' }));

const GET = latin1('GET / HTTP/1.1\r\nHost: h\r\n\r\n');

const http1: fc.Arbitrary<EndlessInput> = fc.oneof(
  fc.record({ side, unit: junk }).map(({ side, unit }) => ({ name: 'junk', prefix: [], side, unit })),
  chunkBytes.map((n) => ({ name: 'a request header line that never ends', prefix: [{ side: 'request' as const, bytes: latin1('GET / HTTP/1.1\r\nX-Long: ') }], side: 'request' as const, unit: repeat('a', n) })),
  chunkBytes.map((n) => ({ name: 'request header lines that never end', prefix: [{ side: 'request' as const, bytes: latin1('GET / HTTP/1.1\r\n') }], side: 'request' as const, unit: repeat('X-A: b\r\n', n) })),
  chunkBytes.map((n) => ({
    name: 'a response head that never ends',
    prefix: [{ side: 'request' as const, bytes: GET }, { side: 'response' as const, bytes: latin1('HTTP/1.1 200 OK\r\nX: ') }],
    side: 'response' as const,
    unit: repeat('b', n),
  })),
  chunkBytes.map((n) => ({
    name: 'chunks that never end',
    prefix: [{ side: 'request' as const, bytes: GET }, { side: 'response' as const, bytes: latin1('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n') }],
    side: 'response' as const,
    unit: repeat(`400\r\n${'c'.repeat(1024)}\r\n`, n),
  })),
  chunkBytes.map((n) => ({
    name: 'a chunk-size line that never ends',
    prefix: [{ side: 'request' as const, bytes: GET }, { side: 'response' as const, bytes: latin1('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n') }],
    side: 'response' as const,
    unit: repeat('0', n),
  })),
  chunkBytes.map((n) => ({
    name: 'trailers that never end',
    prefix: [{ side: 'request' as const, bytes: GET }, { side: 'response' as const, bytes: latin1('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n') }],
    side: 'response' as const,
    unit: repeat('X-T: t\r\n', n),
  })),
  chunkBytes.map((n) => ({
    name: 'a body until close that never closes',
    prefix: [{ side: 'request' as const, bytes: GET }, { side: 'response' as const, bytes: latin1('HTTP/1.0 200 OK\r\n\r\n') }],
    side: 'response' as const,
    unit: repeat('d', n),
  })),
  chunkBytes.map((n) => ({ name: 'requests never answered', prefix: [], side: 'request' as const, unit: repeat('GET /x HTTP/1.1\r\n\r\n', n) })),
);

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const out = Buffer.alloc(9 + payload.length);
  out.writeUIntBE(payload.length, 0, 3);
  out[3] = type;
  out[4] = flags;
  out.writeUInt32BE(stream >>> 0, 5);
  out.set(payload, 9);
  return new Uint8Array(out);
}

const PREFACE = latin1('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
/** :method GET, :path /, :scheme http, then a literal field with incremental indexing. */
const BLOCK_START = Uint8Array.from([0x82, 0x84, 0x86, 0x40, 0x01, 0x78, 0x01, 0x79]);
const repeatFrames = (f: Uint8Array, bytes: number) => new Uint8Array(Buffer.concat(Array.from({ length: Math.max(1, Math.floor(bytes / f.length)) }, () => f)));
const FLAG = { END_STREAM: 0x1, END_HEADERS: 0x4 } as const;
const TYPE = { DATA: 0, HEADERS: 1, SETTINGS: 4, PING: 6, CONTINUATION: 9 } as const;

const http2: fc.Arbitrary<EndlessInput> = fc.oneof(
  fc.record({ side, unit: junk }).map(({ side, unit }) => ({ name: 'junk', prefix: [], side, unit })),
  fc.record({ payload: fc.integer({ min: 1, max: 16_384 }), n: chunkBytes }).map(({ payload, n }) => ({
    name: `a header block continued forever (CONTINUATION of ${payload} octets)`,
    prefix: [{ side: 'request' as const, bytes: PREFACE }, { side: 'request' as const, bytes: frame(TYPE.HEADERS, 0, 1, BLOCK_START) }],
    side: 'request' as const,
    unit: repeatFrames(frame(TYPE.CONTINUATION, 0, 1, new Uint8Array(payload).fill(0x41)), n),
  })),
  fc.record({ payload: fc.integer({ min: 0, max: 16_384 }), n: chunkBytes }).map(({ payload, n }) => ({
    name: `DATA that never ends its stream (frames of ${payload} octets)`,
    prefix: [{ side: 'request' as const, bytes: PREFACE }, { side: 'request' as const, bytes: frame(TYPE.HEADERS, FLAG.END_HEADERS, 1, BLOCK_START) }],
    side: 'request' as const,
    unit: repeatFrames(frame(TYPE.DATA, 0, 1, new Uint8Array(payload).fill(0x42)), n),
  })),
  chunkBytes.map((n) => ({
    name: 'SETTINGS over and over',
    prefix: [{ side: 'request' as const, bytes: PREFACE }],
    side: 'request' as const,
    unit: repeatFrames(frame(TYPE.SETTINGS, 0, 0, Uint8Array.from([0, 1, 0xff, 0xff, 0xff, 0xff, 0, 5, 0, 0xff, 0xff, 0xff])), n),
  })),
  chunkBytes.map((n) => ({
    name: 'PING over and over on the server side',
    prefix: [],
    side: 'response' as const,
    unit: repeatFrames(frame(TYPE.PING, 0, 0, new Uint8Array(8)), n),
  })),
  fc.record({ length: fc.constantFrom(16_384, 65_535, 0xffffff), n: chunkBytes }).map(({ length, n }) => ({
    name: `a frame header promising ${length} octets, then junk`,
    prefix: [{ side: 'response' as const, bytes: Uint8Array.from([length >> 16, (length >> 8) & 0xff, length & 0xff, TYPE.HEADERS, 0, 0, 0, 0, 1]) }],
    side: 'response' as const,
    unit: new Uint8Array(n).fill(0x43),
  })),
);

export function endlessInputs(protocol: string): fc.Arbitrary<EndlessInput> {
  if (protocol === 'http1') return http1;
  if (protocol === 'http2') return http2;
  throw new Error(`no endless inputs for protocol ${protocol}: add them to endlessInputs.ts`);
}
