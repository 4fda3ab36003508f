/**
 * Header blocks copied by uprobes (Go) on a connection the parser joined
 * late, where every block refers to HPACK dynamic table entries it never
 * saw: copies that come before their frame (egress) replace the block at
 * the frame; copies that come after (ingress) complete the stream, whose
 * end waits for them a bounded time; without copies (other stacks) the
 * stream is still reported, marked as missing headers.
 */
import { describe, expect, it } from 'vitest';
import type { Exchange, HeaderBlockCopy, Side } from '../contract.ts';
import { Http2ConnectionParser } from './connectionParser.ts';
import { HEADERS_MISSING } from './exchangeMapping.ts';
import { Flag, FrameType } from './frames.ts';
import { HOLD_LIMIT_NS, WAITING_LIMIT } from './headerSupply.ts';
import { frame } from './testing.ts';

const { DATA, HEADERS } = FrameType;
const { END_STREAM, END_HEADERS } = Flag;
/** A block of indexed fields of the dynamic table (62 and on): nothing a late observer can resolve. */
const UNKNOWN = (n: number) => Uint8Array.from({ length: n }, (_, i) => 0x80 | (62 + i));
/** One gRPC message of 3 bytes. */
const MESSAGE = Uint8Array.from([0, 0, 0, 0, 3, 1, 2, 3]);

type Step =
  | { data: Uint8Array; side: Side; tsNs: bigint }
  | { copy: HeaderBlockCopy; side: Side; tsNs: bigint }
  | { close: bigint };

function run(steps: Step[]): { exchanges: Exchange[]; parser: Http2ConnectionParser } {
  const exchanges: Exchange[] = [];
  const parser = new Http2ConnectionParser((e) => exchanges.push(e));
  for (const s of steps) {
    if ('close' in s) parser.onClose(s.close);
    else if ('data' in s) parser.onData(s.side, s.data, s.tsNs);
    else parser.onHeaders(s.side, s.copy, s.tsNs);
  }
  return { exchanges, parser };
}

const copy = (streamId: number, fields: Array<[string, string]>, o: Partial<HeaderBlockCopy> = {}): HeaderBlockCopy =>
  ({ streamId, endStream: false, fields: fields.map(([name, value]) => ({ name, value })), unknown: 0, follows: false, ...o });
const REQUEST: Array<[string, string]> = [[':method', 'POST'], [':scheme', 'https'], [':path', '/hydrophone.test.Echo/Unary'], [':authority', '127.0.0.1:9000'], ['content-type', 'application/grpc']];
const RESPONSE: Array<[string, string]> = [[':status', '200'], ['content-type', 'application/grpc']];
const TRAILERS: Array<[string, string]> = [['grpc-status', '5'], ['grpc-message', 'no such echo']];

const wire = {
  request: (tsNs: bigint, id = 1): Step => ({ side: 'request', tsNs, data: Uint8Array.from([...frame(HEADERS, END_HEADERS, id, UNKNOWN(5)), ...frame(DATA, END_STREAM, id, MESSAGE)]) }),
  response: (tsNs: bigint, id = 1): Step => ({ side: 'response', tsNs, data: Uint8Array.from([...frame(HEADERS, END_HEADERS, id, UNKNOWN(2)), ...frame(DATA, 0, id, MESSAGE)]) }),
  trailers: (tsNs: bigint, id = 1): Step => ({ side: 'response', tsNs, data: frame(HEADERS, END_HEADERS | END_STREAM, id, UNKNOWN(2)) }),
};

const call = (e: Exchange | undefined) => e && {
  name: e.name, service: e.attributes['rpc.service'], method: e.attributes['rpc.method'], code: e.attributes['rpc.grpc.status_code'],
  messages: [e.attributes['rpc.grpc.request.message_count'], e.attributes['rpc.grpc.response.message_count']],
  missing: e.attributes[HEADERS_MISSING] ?? false, start: e.startNs, end: e.endNs, error: e.error.message,
};
const UNARY_FAIL = { name: 'hydrophone.test.Echo/Unary', service: 'hydrophone.test.Echo', method: 'Unary', code: 5, messages: [1, 1], missing: false, error: 'no such echo' };

describe('header block copies on a connection joined late', () => {
  it('client side: its request copy before the frame, the response copies after; the end waits for them', () => {
    const { exchanges, parser } = run([
      { side: 'request', tsNs: 10n, copy: copy(1, REQUEST) },
      wire.request(11n),
      wire.response(20n),
      { side: 'response', tsNs: 21n, copy: copy(1, RESPONSE, { follows: true }) },
      wire.trailers(30n),
    ]);
    expect(exchanges).toEqual([]); // held: the trailers' copy is on its way
    parser.onHeaders('response', copy(1, TRAILERS, { follows: true, endStream: true }), 31n);
    expect(exchanges.map(call)).toEqual([{ ...UNARY_FAIL, start: 11n, end: 30n }]);
  });

  it('server side: the request copy after its frame (before any copy said copies come), the response copies before theirs', () => {
    const { exchanges } = run([
      wire.request(10n),
      { side: 'request', tsNs: 11n, copy: copy(1, REQUEST, { follows: true }) },
      { side: 'response', tsNs: 20n, copy: copy(1, RESPONSE) },
      wire.response(21n),
      { side: 'response', tsNs: 30n, copy: copy(1, TRAILERS, { endStream: true }) },
      wire.trailers(31n),
    ]);
    expect(exchanges.map(call)).toEqual([{ ...UNARY_FAIL, start: 10n, end: 31n }]);
  });

  it('a copy whose own fields were cut short still marks the stream', () => {
    const { exchanges } = run([
      wire.request(10n),
      { side: 'request', tsNs: 11n, copy: copy(1, REQUEST, { follows: true, unknown: 1 }) },
      { side: 'response', tsNs: 20n, copy: copy(1, RESPONSE) },
      wire.response(21n),
      { side: 'response', tsNs: 30n, copy: copy(1, TRAILERS, { endStream: true }) },
      wire.trailers(31n),
    ]);
    expect(exchanges.map(call)).toEqual([{ ...UNARY_FAIL, missing: true, start: 10n, end: 31n }]);
  });

  it('an awaited copy that never comes: the end is released after the hold limit, marked, with what is known', () => {
    const { exchanges, parser } = run([
      { side: 'request', tsNs: 10n, copy: copy(1, REQUEST) },
      wire.request(11n),
      wire.response(20n),
      wire.trailers(30n),
    ]);
    expect(exchanges).toEqual([]);
    parser.onData('request', frame(FrameType.PING, 0, 0, new Uint8Array(8)), 30n + HOLD_LIMIT_NS - 1n);
    expect(exchanges).toEqual([]);
    parser.onData('request', frame(FrameType.PING, 0, 0, new Uint8Array(8)), 30n + HOLD_LIMIT_NS);
    expect(exchanges.map(call)).toEqual([{
      name: 'hydrophone.test.Echo/Unary', service: 'hydrophone.test.Echo', method: 'Unary', code: undefined, messages: [1, 1], missing: true, start: 11n, end: 30n, error: undefined,
    }]);
  });

  it('a stream ended by DATA waits for the copy of its response headers too (HTTP/2, not gRPC)', () => {
    const { exchanges } = run([
      { side: 'request', tsNs: 10n, copy: copy(1, [[':method', 'GET'], [':scheme', 'https'], [':path', '/items/7'], [':authority', 'h:1']]) },
      { side: 'request', tsNs: 11n, data: frame(HEADERS, END_HEADERS | END_STREAM, 1, UNKNOWN(4)) },
      // Headers and body in one read: both parsed before the program decoded the headers.
      { side: 'response', tsNs: 20n, data: Uint8Array.from([...frame(HEADERS, END_HEADERS, 1, UNKNOWN(1)), ...frame(DATA, END_STREAM, 1, MESSAGE)]) },
      { side: 'response', tsNs: 21n, copy: copy(1, [[':status', '404']], { follows: true }) },
    ]);
    expect(exchanges.map((e) => [e.name, e.attributes['http.response.status_code'], e.attributes[HEADERS_MISSING], e.endNs])).toEqual([['GET /items/{id}', 404, undefined, 20n]]);
  });

  it('a block of a side that sends no copies (probed on one direction only) is not waited for', () => {
    const { exchanges } = run([
      // The request's copy never comes (the stack's egress is not probed); the response's does, after its frame.
      { side: 'request', tsNs: 11n, data: frame(HEADERS, END_HEADERS | END_STREAM, 1, UNKNOWN(4)) },
      { side: 'response', tsNs: 20n, data: frame(HEADERS, END_HEADERS, 1, UNKNOWN(1)) },
      { side: 'response', tsNs: 21n, copy: copy(1, [[':status', '200']], { follows: true }) },
      { side: 'response', tsNs: 22n, data: frame(DATA, END_STREAM, 1, MESSAGE) },
    ]);
    expect(exchanges.map((e) => [e.name, e.attributes['http.response.status_code'], e.attributes[HEADERS_MISSING], e.endNs])).toEqual([['HTTP', 200, true, 22n]]);
  });

  it('a held end is reported at close', () => {
    const { exchanges } = run([{ side: 'request', tsNs: 10n, copy: copy(1, REQUEST) }, wire.request(11n), wire.response(20n), wire.trailers(30n), { close: 40n }]);
    expect(exchanges.map((e) => [e.name, e.attributes[HEADERS_MISSING]])).toEqual([['hydrophone.test.Echo/Unary', true]]);
  });

  it('without copies (another stack), the stream is reported at once, marked as missing headers', () => {
    const { exchanges, parser } = run([wire.request(10n), wire.response(20n), wire.trailers(30n)]);
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.attributes[HEADERS_MISSING]).toBe(true);
    expect(exchanges[0]!.name).toBe('HTTP');
    expect(parser.stats.unansweredRequests).toBe(0);
  });

  it('a copy of a block the parser decoded whole is not used; copies without frame are bounded', () => {
    const { exchanges } = run([
      { side: 'request', tsNs: 10n, copy: copy(1, [[':path', '/not/this']]) },
      { side: 'request', tsNs: 11n, data: frame(HEADERS, END_HEADERS | END_STREAM, 1, Uint8Array.from([0x82, 0x84, 0x87])) }, // GET / https
      { side: 'response', tsNs: 20n, data: frame(HEADERS, END_HEADERS | END_STREAM, 1, Uint8Array.from([0x88])) }, // 200
      ...Array.from({ length: WAITING_LIMIT + 10 }, (_, i): Step => ({ side: 'request', tsNs: 30n, copy: copy(3 + 2 * i, REQUEST) })),
    ]);
    expect(exchanges.map((e) => [e.name, e.attributes['url.path'], e.attributes[HEADERS_MISSING]])).toEqual([['GET /', '/', undefined]]);
  });

  // net/http's concurrent streams on one connection (bpf/lib/goH2.h): every copy carries its own
  // stream id, so copies written before their frames (several can wait, the writer buffers
  // frames before one TLS write) and copies read after theirs each find their own stream.
  const get = (id: number) => copy(id, [[':authority', '127.0.0.1:8443'], [':method', 'GET'], [':path', `/par/${id}`], [':scheme', 'https']], { endStream: true });
  const ok = (id: number) => copy(id, [[':status', id === 3 ? '404' : '200'], ['content-type', 'text/plain; charset=utf-8']]);
  const getFrame = (id: number): Uint8Array => frame(HEADERS, END_HEADERS | END_STREAM, id, UNKNOWN(4));
  const answer = (id: number): Uint8Array => Uint8Array.from([...frame(HEADERS, END_HEADERS, id, UNKNOWN(2)), ...frame(DATA, END_STREAM, id, Uint8Array.from([0x61]))]);
  const named = (exchanges: Exchange[]) => exchanges.map((e) => [e.attributes['url.path'], e.attributes['http.response.status_code'], e.attributes[HEADERS_MISSING] ?? false])
    .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
  const PAR = [['/par/1', 200, false], ['/par/3', 404, false], ['/par/5', 200, false]];

  it('net/http server, concurrent streams: request copies after their frames, response copies queued before theirs (matched by stream, whatever the order)', () => {
    const { exchanges, parser } = run([
      { side: 'request', tsNs: 10n, data: Uint8Array.from([...getFrame(1), ...getFrame(3), ...getFrame(5)]) },
      ...[5, 1, 3].map((id, i): Step => ({ side: 'request', tsNs: 11n + BigInt(i), copy: { ...get(id), follows: true } })),
      ...[3, 5, 1].map((id, i): Step => ({ side: 'response', tsNs: 20n + BigInt(i), copy: ok(id) })),
      { side: 'response', tsNs: 30n, data: Uint8Array.from([...answer(5), ...answer(1), ...answer(3)]) },
    ]);
    expect(named(exchanges)).toEqual(PAR);
    expect(parser.stats).toMatchObject({ orphanResponses: 0, unansweredRequests: 0 });
  });

  it('net/http client, concurrent streams: request copies before their frames, response copies after theirs, interleaved', () => {
    const { exchanges, parser } = run([
      ...[1, 3].flatMap((id, i): Step[] => [
        { side: 'request', tsNs: 10n + BigInt(2 * i), copy: get(id) },
        { side: 'request', tsNs: 11n + BigInt(2 * i), data: getFrame(id) },
      ]),
      { side: 'response', tsNs: 20n, data: answer(3) },
      { side: 'request', tsNs: 21n, copy: get(5) },
      { side: 'request', tsNs: 22n, data: getFrame(5) },
      { side: 'response', tsNs: 23n, copy: { ...ok(3), follows: true } },
      { side: 'response', tsNs: 30n, data: Uint8Array.from([...answer(5), ...answer(1)]) },
      { side: 'response', tsNs: 31n, copy: { ...ok(5), follows: true } },
      { side: 'response', tsNs: 32n, copy: { ...ok(1), follows: true } },
    ]);
    expect(named(exchanges)).toEqual(PAR);
    expect(parser.stats).toMatchObject({ orphanResponses: 0, unansweredRequests: 0 });
  });
});
