import { describe, expect, it } from 'vitest';
import { HEADER_BLOCK_LIMIT, MAX_OPEN_STREAMS } from './connectionParser.ts';
import { Flag, FrameType } from './frames.ts';
import { concat, frame, literalBlock, PREFACE, replay } from './testing.ts';
import type { Event } from './testing.ts';

const { DATA, HEADERS, RST_STREAM, SETTINGS, PUSH_PROMISE, GOAWAY, CONTINUATION, PING } = FrameType;
const { END_STREAM, END_HEADERS, PADDED } = Flag;
const u8 = (...b: number[]): Uint8Array => Uint8Array.from(b);

const GET = (path: string, extra: Array<[string, string]> = []): Uint8Array =>
  literalBlock([[':method', 'GET'], [':scheme', 'https'], [':authority', 'api.example.com:8443'], [':path', path], ...extra]);
const STATUS = (s: number, extra: Array<[string, string]> = []): Uint8Array => literalBlock([[':status', String(s)], ...extra]);
const SETTINGS0 = frame(SETTINGS, 0, 0);

const req = (tsNs: bigint, ...frames: Uint8Array[]): Event => ({ side: 'request', tsNs, data: concat(...frames) });
const res = (tsNs: bigint, ...frames: Uint8Array[]): Event => ({ side: 'response', tsNs, data: concat(...frames) });
const open = (tsNs = 1n): Event[] => [req(tsNs, PREFACE, SETTINGS0), res(tsNs, SETTINGS0)];

describe('HTTP/2 connection parser', () => {
  it('reports a GET with its timing, attributes and traceparent; never a credential', () => {
    const r = replay([
      ...open(),
      req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/users/42?debug=1', [['authorization', 'Bearer x'], ['cookie', 'c=1'], ['traceparent', '00-abc-def-01'], ['user-agent', 'ua/1']]))),
      res(20n, frame(HEADERS, END_HEADERS, 1, STATUS(200, [['set-cookie', 's=1']]))),
      res(30n, frame(DATA, 0, 1, u8(1, 2, 3)), frame(DATA, END_STREAM, 1, u8(4))),
    ]);
    expect(r.exchanges).toEqual([
      {
        protocol: 'http2',
        name: 'GET /users/{id}',
        startNs: 10n,
        endNs: 30n,
        attributes: {
          'http.request.method': 'GET', 'url.path': '/users/42', 'http.route': '/users/{id}', 'url.scheme': 'https',
          'server.address': 'api.example.com', 'server.port': 8443, 'http.response.status_code': 200,
          'network.protocol.name': 'http', 'network.protocol.version': '2', 'http.request.body.size': 0, 'http.response.body.size': 4,
          'user_agent.original': 'ua/1',
        },
        error: { server: false, client: false },
        traceparent: '00-abc-def-01',
        pairKey: '1',
      },
    ]);
    expect(r.stats).toEqual({ invalidBytes: 0, unansweredRequests: 0, orphanResponses: 0, droppedByGap: 0 });
  });

  it('times a frame split across reads by its first and last byte', () => {
    const h = frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/'));
    const d = frame(DATA, END_STREAM, 1, u8(1, 2, 3, 4, 5));
    const r = replay([...open(), req(10n, h.subarray(0, 4)), req(11n, h.subarray(4)), res(20n, frame(HEADERS, END_HEADERS, 1, STATUS(204)), d.subarray(0, 10)), res(25n, d.subarray(10))]);
    expect([r.exchanges[0]!.startNs, r.exchanges[0]!.endNs]).toEqual([10n, 25n]);
  });

  it('joins CONTINUATIONs, strips padding, skips 1xx and PING/PRIORITY', () => {
    const block = GET('/upload');
    const padded = (p: Uint8Array, pad: number): Uint8Array => concat(u8(pad), p, new Uint8Array(pad));
    const r = replay([
      ...open(),
      req(10n,
        frame(HEADERS, PADDED, 1, padded(block.subarray(0, 5), 3)),
        frame(PING, 0, 0, new Uint8Array(8)).subarray(0, 0), // (nothing: PING may not split a block)
        frame(CONTINUATION, 0, 1, block.subarray(5, 20)),
        frame(CONTINUATION, END_HEADERS, 1, block.subarray(20)),
        frame(DATA, PADDED, 1, padded(u8(1, 2, 3), 10)),
        frame(DATA, PADDED | END_STREAM, 1, padded(u8(4), 0))),
      res(20n, frame(HEADERS, END_HEADERS, 1, STATUS(100)), frame(PING, 0, 0, new Uint8Array(8)), frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS(201))),
    ]);
    expect(r.exchanges).toHaveLength(1);
    expect(r.exchanges[0]!.attributes).toMatchObject({ 'url.path': '/upload', 'http.response.status_code': 201, 'http.request.body.size': 4 });
  });

  it('abandons a header block another frame interrupts', () => {
    const block = GET('/x');
    const r = replay([
      ...open(),
      req(10n, frame(HEADERS, 0, 1, block.subarray(0, 4)), frame(PING, 0, 0, new Uint8Array(8)), frame(CONTINUATION, END_HEADERS | END_STREAM, 1, block.subarray(4))),
      res(20n, frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS(200))),
    ]);
    // The stream is real, its request unknown: reported without method or path.
    expect(r.exchanges.map((e) => e.name)).toEqual(['HTTP']);
  });

  it('reports RST_STREAM as an error on both sides, with the code named', () => {
    const r = replay([
      ...open(),
      req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/slow'))),
      req(50n, frame(RST_STREAM, 0, 1, u8(0, 0, 0, 8))),
    ]);
    expect(r.exchanges[0]).toMatchObject({
      endNs: 50n,
      attributes: { 'http2.rst_stream.error_code': 'CANCEL', 'error.type': 'CANCEL' },
      error: { server: true, client: true, message: 'RST_STREAM CANCEL from the client' },
    });
  });

  it('ends streams a GOAWAY left unprocessed', () => {
    const r = replay([
      ...open(),
      req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/a')), frame(HEADERS, END_HEADERS | END_STREAM, 3, GET('/b'))),
      res(20n, frame(GOAWAY, 0, 0, u8(0, 0, 0, 1, 0, 0, 0, 0))),
      res(30n, frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS(200))),
    ]);
    expect(r.exchanges.map((e) => [e.name, e.error.message])).toEqual([['GET /b', 'GOAWAY NO_ERROR: stream not processed'], ['GET /a', undefined]]);
  });

  it('reports a server push as its own exchange', () => {
    const r = replay([
      ...open(),
      req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/'))),
      res(20n, frame(PUSH_PROMISE, END_HEADERS, 1, concat(u8(0, 0, 0, 2), GET('/style.css'))), frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS(200))),
      res(30n, frame(HEADERS, END_HEADERS, 2, STATUS(200)), frame(DATA, END_STREAM, 2, u8(1))),
    ]);
    expect(r.exchanges.map((e) => [e.name, e.pairKey, e.startNs])).toEqual([['GET /', '1', 10n], ['GET /style.css', '2', 20n]]);
  });

  it('reads a gRPC Trailers-Only response and grpc-timeout', () => {
    const call = literalBlock([[':method', 'POST'], [':path', '/pkg.Svc/Do'], ['content-type', 'application/grpc'], ['grpc-timeout', '1S']]);
    const r = replay([
      ...open(),
      req(10n, frame(HEADERS, END_HEADERS, 1, call), frame(DATA, END_STREAM, 1, u8(0, 0, 0, 0, 2, 8, 1))),
      res(20n, frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS(200, [['content-type', 'application/grpc'], ['grpc-status', '12'], ['grpc-message', 'not%20here']]))),
    ]);
    expect(r.exchanges[0]).toMatchObject({
      protocol: 'grpc',
      name: 'pkg.Svc/Do',
      attributes: { 'rpc.grpc.status_code': 12, 'rpc.grpc.request.message_count': 1, 'rpc.grpc.request.body.size': 2, 'rpc.grpc.response.message_count': 0 },
      error: { server: true, client: true, message: 'not here' },
    });
  });

  it('counts an oversized header block as invalid and still reports its stream', () => {
    const big = literalBlock([[':method', 'GET'], ['x-big', 'v'.repeat(HEADER_BLOCK_LIMIT)]]);
    const frames: Uint8Array[] = [];
    for (let at = 0; at < big.length; at += 16_000) {
      const last = at + 16_000 >= big.length;
      frames.push(frame(at === 0 ? HEADERS : CONTINUATION, (last ? END_HEADERS : 0) | (at === 0 ? END_STREAM : 0), 1, big.subarray(at, at + 16_000)));
    }
    const r = replay([...open(), req(10n, ...frames), res(20n, frame(HEADERS, END_HEADERS | END_STREAM, 1, STATUS(200)))]);
    expect(r.stats.invalidBytes).toBeGreaterThan(HEADER_BLOCK_LIMIT);
    expect(r.maxBuffered).toBeLessThanOrEqual(2 * HEADER_BLOCK_LIMIT + 100_000);
    expect(r.exchanges.map((e) => [e.name, e.attributes['http.response.status_code']])).toEqual([['HTTP', 200]]);
  });

  it('follows at most MAX_OPEN_STREAMS streams, counting the ones it gives up', () => {
    const events: Event[] = [...open()];
    for (let i = 0; i <= MAX_OPEN_STREAMS; i++) events.push(req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, GET('/'))));
    const r = replay(events, false);
    expect(r.stats.unansweredRequests).toBe(1);
  });

  it('accepts larger frames once the peer allowed them (SETTINGS_MAX_FRAME_SIZE)', () => {
    const body = new Uint8Array(30_000);
    const r = replay([
      req(1n, PREFACE, frame(SETTINGS, 0, 0, u8(0, 5, 0, 0, 0x80, 0))),
      res(1n, SETTINGS0),
      req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/'))),
      res(20n, frame(HEADERS, END_HEADERS, 1, STATUS(200)), frame(DATA, END_STREAM, 1, body)),
    ]);
    expect(r.exchanges[0]!.attributes['http.response.body.size']).toBe(30_000);
    expect(r.stats.invalidBytes).toBe(0);
  });

  it('counts responses on streams it never saw open', () => {
    const r = replay([...open(), res(20n, frame(HEADERS, END_HEADERS | END_STREAM, 5, STATUS(200)))]);
    expect(r.stats.orphanResponses).toBe(1);
  });

  it('counts requests left unanswered at close', () => {
    const r = replay([...open(), req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/')))]);
    expect(r.stats.unansweredRequests).toBe(1);
  });
});

describe('gaps', () => {
  const head = (): Event[] => [
    ...open(),
    req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/'))),
    res(20n, frame(HEADERS, END_HEADERS, 1, STATUS(200)), frame(DATA, END_STREAM, 1, new Uint8Array(1000)).subarray(0, 109)),
  ];

  it('inside a DATA payload lose nothing but counted octets', () => {
    const r = replay([...head(), { side: 'response', gap: 400, tsNs: 30n }, res(40n, new Uint8Array(500))]);
    expect(r.exchanges.map((e) => e.attributes['http.response.body.size'])).toEqual([1000]);
    expect(r.stats.droppedByGap).toBe(0);
  });

  it('past a frame boundary drop the open streams, then resynchronise', () => {
    const r = replay([
      ...head(),
      { side: 'response', gap: 1000, tsNs: 30n },
      res(40n, new Uint8Array(9).fill(0xee), frame(PING, 0, 0, new Uint8Array(8)), frame(DATA, END_STREAM, 1, u8(1))),
      req(50n, frame(HEADERS, END_HEADERS | END_STREAM, 3, GET('/after'))),
      res(60n, frame(HEADERS, END_HEADERS | END_STREAM, 3, STATUS(404))),
    ]);
    expect(r.stats.droppedByGap).toBe(1);
    expect(r.stats.invalidBytes).toBe(9);
    expect(r.exchanges.map((e) => [e.name, e.attributes['http.response.status_code']])).toEqual([['GET /after', 404]]);
  });

  it('in a header block leave that direction\'s HPACK state unknown, not invented', () => {
    const indexed = literalBlock([[':status', '200'], ['content-type', 'text/html']], { index: true });
    const r = replay([
      ...open(),
      req(10n, frame(HEADERS, END_HEADERS | END_STREAM, 1, GET('/'))),
      res(20n, frame(HEADERS, END_HEADERS | END_STREAM, 1, indexed)),
      req(30n, frame(HEADERS, END_HEADERS | END_STREAM, 3, GET('/two'))),
      { side: 'response', gap: 50, tsNs: 35n },
      res(40n, frame(HEADERS, END_HEADERS | END_STREAM, 3, u8(0xbf))),
      req(50n, frame(HEADERS, END_HEADERS | END_STREAM, 5, GET('/three'))),
      res(60n, frame(HEADERS, END_HEADERS | END_STREAM, 5, u8(0xbf))), // was ':status: 200' before the gap; unknown now
    ]);
    expect(r.stats.droppedByGap).toBe(1); // stream 3 was open across the gap
    expect(r.exchanges.map((e) => [e.name, e.attributes['http.response.status_code']])).toEqual([['GET /', 200], ['GET /three', undefined]]);
  });
});
