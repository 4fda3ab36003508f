/**
 * Allow-listed headers, gRPC metadata and url.query on HTTP/2 streams,
 * through the protocol's own parser: HTTP exchanges report
 * http.*.header.<name>, gRPC calls rpc.grpc.*.metadata.<key> (trailers
 * included); sensitive headers never, whatever the allow-lists say.
 */
import { describe, expect, it } from 'vitest';
import type { Exchange } from '../contract.ts';
import { AttributeCapture, MAX_CAPTURED_VALUES, type AttributeCaptureSettings } from '../attributeCapture/index.ts';
import { Flag, FrameType } from './frames.ts';
import { http2Protocol, http2ProtocolWith } from './index.ts';
import { concat, frame, literalBlock, PREFACE } from './testing.ts';

const { DATA, HEADERS, SETTINGS } = FrameType;
const { END_STREAM, END_HEADERS } = Flag;

const NONE: AttributeCaptureSettings = {
  requestHeaders: [], responseHeaders: [], grpcRequestMetadata: [], grpcResponseMetadata: [], sensitiveHeaders: [], urlQuery: 'off', queryParams: [],
};
const SECRET = 'planted-secret-9a7e';
type Fields = Array<[string, string]>;

/** One stream: request header block, response header block, optional trailers. */
function stream(request: Fields, response: Fields, trailers: Fields | undefined, capture?: AttributeCapture): Exchange {
  const out: Exchange[] = [];
  const parser = (capture ? http2ProtocolWith(capture) : http2Protocol).createParser((e) => out.push(e), { fromStart: true });
  parser.onData('request', concat(PREFACE, frame(SETTINGS, 0, 0), frame(HEADERS, END_HEADERS | END_STREAM, 1, literalBlock(request))), 10n);
  parser.onData('response', concat(
    frame(SETTINGS, 0, 0),
    frame(HEADERS, END_HEADERS | (trailers ? 0 : END_STREAM), 1, literalBlock(response)),
    ...(trailers ? [frame(DATA, 0, 1, Uint8Array.from([0, 0, 0, 0, 1, 7])), frame(HEADERS, END_HEADERS | END_STREAM, 1, literalBlock(trailers))] : []),
  ), 20n);
  parser.onClose(30n);
  expect(out).toHaveLength(1);
  return out[0]!;
}

const HTTP_REQUEST: Fields = [
  [':method', 'GET'], [':scheme', 'http'], [':authority', 'api.test'], [':path', '/items/3?key=abc&lang=de'],
  ['x-request-id', 'r-1'], ['x-tenant', 't-1'], ['x-tenant', 't-2'],
  ['authorization', `Bearer ${SECRET}`], ['cookie', `s=${SECRET}`], ['x-api-key', SECRET], ['x-planted', SECRET],
];
const HTTP_RESPONSE: Fields = [[':status', '200'], ['content-type', 'text/html'], ['set-cookie', `id=${SECRET}`]];

const GRPC_REQUEST: Fields = [
  [':method', 'POST'], [':scheme', 'http'], [':authority', 'greeter:50051'], [':path', '/helloworld.Greeter/SayHello'],
  ['content-type', 'application/grpc'], ['x-tenant', 't-1'], ['trace-bin', 'AAECAw'], ['authorization', `Bearer ${SECRET}`],
];
const GRPC_RESPONSE: Fields = [[':status', '200'], ['content-type', 'application/grpc'], ['x-served-by', 'pod-a']];
const GRPC_TRAILERS: Fields = [['grpc-status', '0'], ['x-served-by', 'pod-b'], ['x-api-key', SECRET]];

const text = (e: Exchange) => JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
const captured = (e: Exchange) => Object.fromEntries(Object.entries(e.attributes).filter(([k]) => k.includes('.header.') || k.includes('.metadata.') || k === 'url.query'));

describe('HTTP/2 header and query capture', () => {
  it.each<[string, Partial<AttributeCaptureSettings>, Record<string, unknown>]>([
    ['an allow-listed header, name in any case', { requestHeaders: ['X-Request-ID'] }, { 'http.request.header.x-request-id': ['r-1'] }],
    ['a repeated header: every value', { requestHeaders: ['x-tenant'] }, { 'http.request.header.x-tenant': ['t-1', 't-2'] }],
    ['a response header', { responseHeaders: ['content-type'] }, { 'http.response.header.content-type': ['text/html'] }],
    ['sensitive headers, allow-listed: never', { requestHeaders: ['authorization', 'cookie', 'x-api-key', 'x-request-id'], responseHeaders: ['set-cookie'] }, { 'http.request.header.x-request-id': ['r-1'] }],
    ['a configured sensitive header: never', { requestHeaders: ['x-planted'], sensitiveHeaders: ['x-planted'] }, {}],
    ['metadata lists do not apply to HTTP exchanges', { grpcRequestMetadata: ['x-request-id'] }, {}],
    ['url.query redacted', { urlQuery: 'redacted' }, { 'url.query': 'key=REDACTED&lang=REDACTED' }],
    ['url.query with an allowed name', { urlQuery: 'redacted', queryParams: ['lang'] }, { 'url.query': 'key=REDACTED&lang=de' }],
  ])('%s', (_name, settings, expected) => {
    const e = stream(HTTP_REQUEST, HTTP_RESPONSE, undefined, new AttributeCapture({ ...NONE, ...settings }));
    expect(e.protocol).toBe('http2');
    expect(captured(e)).toEqual(expected);
    expect(text(e)).not.toContain(SECRET);
    expect(e.attributes).toMatchObject({ 'url.path': '/items/3', 'http.response.status_code': 200 });
  });

  it('by default: the same exchange as without a capture, no header value, no query', () => {
    const plain = stream(HTTP_REQUEST, HTTP_RESPONSE, undefined);
    expect(captured(plain)).toEqual({});
    expect(stream(HTTP_REQUEST, HTTP_RESPONSE, undefined, new AttributeCapture(NONE))).toEqual(plain);
  });

  it('bounds the values one stream keeps', () => {
    const many: Fields = Array.from({ length: MAX_CAPTURED_VALUES + 2 }, (_, i) => ['x-many', String(i)]);
    const capture = new AttributeCapture({ ...NONE, requestHeaders: ['x-many'] });
    const e = stream([...HTTP_REQUEST, ...many], HTTP_RESPONSE, undefined, capture);
    expect(e.attributes['http.request.header.x-many']).toHaveLength(MAX_CAPTURED_VALUES);
    expect(capture.stats.valuesDropped).toBe(2);
  });
});

describe('gRPC metadata capture', () => {
  it.each<[string, Partial<AttributeCaptureSettings>, Record<string, unknown>]>([
    ['request metadata, key in any case', { grpcRequestMetadata: ['X-Tenant'] }, { 'rpc.grpc.request.metadata.x-tenant': ['t-1'] }],
    ['a binary key: its value as sent (base64), never decoded', { grpcRequestMetadata: ['trace-bin'] }, { 'rpc.grpc.request.metadata.trace-bin': ['AAECAw'] }],
    ['response metadata: headers and trailers', { grpcResponseMetadata: ['x-served-by', 'grpc-status'] }, { 'rpc.grpc.response.metadata.x-served-by': ['pod-a', 'pod-b'], 'rpc.grpc.response.metadata.grpc-status': ['0'] }],
    ['sensitive keys, allow-listed: never', { grpcRequestMetadata: ['authorization', 'x-tenant'], grpcResponseMetadata: ['x-api-key'] }, { 'rpc.grpc.request.metadata.x-tenant': ['t-1'] }],
    ['HTTP header lists do not apply to calls', { requestHeaders: ['x-tenant'], responseHeaders: ['x-served-by'] }, {}],
  ])('%s', (_name, settings, expected) => {
    const e = stream(GRPC_REQUEST, GRPC_RESPONSE, GRPC_TRAILERS, new AttributeCapture({ ...NONE, ...settings }));
    expect(e.protocol).toBe('grpc');
    expect(captured(e)).toEqual(expected);
    expect(text(e)).not.toContain(SECRET);
    expect(e.attributes).toMatchObject({ 'rpc.service': 'helloworld.Greeter', 'rpc.grpc.status_code': 0, 'rpc.grpc.request.message_count': 0, 'rpc.grpc.response.message_count': 1 });
  });
});
