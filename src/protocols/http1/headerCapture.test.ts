/**
 * Allow-listed headers and url.query on HTTP/1 exchanges, through the
 * protocol's own parser: what is exported, and that a sensitive header's
 * value never is, whatever the allow-list says.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Exchange } from '../contract.ts';
import { AttributeCapture, MAX_CAPTURED_VALUES, MAX_CAPTURED_VALUE_LENGTH, type AttributeCaptureSettings } from '../attributeCapture/index.ts';
import { http1Protocol, http1ProtocolWith } from './index.ts';

const NONE: AttributeCaptureSettings = {
  requestHeaders: [], responseHeaders: [], grpcRequestMetadata: [], grpcResponseMetadata: [], sensitiveHeaders: [], urlQuery: 'off', queryParams: [],
};

const SECRET = 'planted-secret-3c1f';

function exchange(request: string, response: string, capture?: AttributeCapture): Exchange {
  const out: Exchange[] = [];
  const parser = (capture ? http1ProtocolWith(capture) : http1Protocol).createParser((e) => out.push(e), { fromStart: true });
  parser.onData('request', Buffer.from(request, 'latin1'), 1000n);
  parser.onData('response', Buffer.from(response, 'latin1'), 2000n);
  expect(out).toHaveLength(1);
  return out[0]!;
}

const REQUEST = [
  'GET /orders/7?token=abc&page=2 HTTP/1.1',
  'Host: shop.test',
  'X-Request-Id: r-1',
  'x-tenant: t-1',
  'X-TENANT: t-2',
  `Authorization: Bearer ${SECRET}`,
  `Cookie: session=${SECRET}`,
  `X-Api-Key: ${SECRET}`,
  `X-Planted: ${SECRET}`,
  'User-Agent: curl/8',
  '', '',
].join('\r\n');
const RESPONSE = ['HTTP/1.1 200 OK', 'Content-Type: text/plain', `Set-Cookie: id=${SECRET}`, 'Content-Length: 2', '', 'ok'].join('\r\n');

/** Everything an exchange holds, as text (times included), to grep for the secret. */
const text = (e: Exchange) => JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v));

/** Attributes whose names say they came from a header or the query. */
const captured = (e: Exchange) => Object.fromEntries(Object.entries(e.attributes).filter(([k]) => k.includes('.header.') || k === 'url.query'));

describe('HTTP/1 header and query capture', () => {
  it.each<[string, Partial<AttributeCaptureSettings>, Record<string, unknown>]>([
    ['an allow-listed header, name in any case', { requestHeaders: ['x-REQUEST-id'] }, { 'http.request.header.x-request-id': ['r-1'] }],
    ['a repeated header: every value, in order', { requestHeaders: ['X-Tenant'] }, { 'http.request.header.x-tenant': ['t-1', 't-2'] }],
    ['a header also used for attributes (user-agent)', { requestHeaders: ['user-agent'] }, { 'http.request.header.user-agent': ['curl/8'] }],
    ['a response header', { responseHeaders: ['content-type'] }, { 'http.response.header.content-type': ['text/plain'] }],
    ['sensitive headers, allow-listed: never', { requestHeaders: ['authorization', 'cookie', 'x-api-key', 'x-request-id'], responseHeaders: ['set-cookie'] }, { 'http.request.header.x-request-id': ['r-1'] }],
    ['a configured sensitive header, allow-listed: never', { requestHeaders: ['x-planted'], sensitiveHeaders: ['X-Planted'] }, {}],
    ['gRPC metadata lists do not apply to HTTP/1', { grpcRequestMetadata: ['x-request-id'] }, {}],
    ['url.query redacted', { urlQuery: 'redacted' }, { 'url.query': 'token=REDACTED&page=REDACTED' }],
    ['url.query with an allowed name', { urlQuery: 'redacted', queryParams: ['page'] }, { 'url.query': 'token=REDACTED&page=2' }],
  ])('%s', (_name, settings, expected) => {
    const e = exchange(REQUEST, RESPONSE, new AttributeCapture({ ...NONE, ...settings }));
    expect(captured(e)).toEqual(expected);
    expect(text(e)).not.toContain(SECRET);
    // What is always reported stays as it was.
    expect(e.attributes).toMatchObject({ 'url.path': '/orders/7', 'server.address': 'shop.test', 'user_agent.original': 'curl/8', 'http.response.status_code': 200 });
  });

  it('by default: no header value, no query, the same exchange as without a capture', () => {
    const plain = exchange(REQUEST, RESPONSE);
    expect(captured(plain)).toEqual({});
    expect(exchange(REQUEST, RESPONSE, new AttributeCapture(NONE))).toEqual(plain);
    expect(text(plain)).not.toContain(SECRET);
  });

  it('bounds the values one message keeps and counts the cut', () => {
    const many = Array.from({ length: MAX_CAPTURED_VALUES + 3 }, (_, i) => `X-Many: ${i === 0 ? 'L'.repeat(MAX_CAPTURED_VALUE_LENGTH + 1) : i}`);
    const capture = new AttributeCapture({ ...NONE, requestHeaders: ['x-many'] });
    const e = exchange(`GET / HTTP/1.1\r\nHost: h\r\n${many.join('\r\n')}\r\n\r\n`, 'HTTP/1.1 204 No Content\r\n\r\n', capture);
    const values = e.attributes['http.request.header.x-many'] as string[];
    expect(values).toHaveLength(MAX_CAPTURED_VALUES);
    expect(values[0]).toHaveLength(MAX_CAPTURED_VALUE_LENGTH);
    expect(values.at(-1)).toBe(String(MAX_CAPTURED_VALUES - 1));
    expect(capture.stats).toEqual({ valuesDropped: 3, valuesTruncated: 1 });
  });

  it('a malformed head is still refused whole, allow-list or not', () => {
    const out: Exchange[] = [];
    const parser = http1ProtocolWith(new AttributeCapture({ ...NONE, requestHeaders: ['x-a'] })).createParser((e) => out.push(e), { fromStart: true });
    parser.onData('request', Buffer.from('GET / HTTP/1.1\r\nX-A: 1\r\nbad line\r\n\r\n', 'latin1'), 1n);
    parser.onData('response', Buffer.from('HTTP/1.1 204 No Content\r\n\r\n', 'latin1'), 2n);
    expect(out).toEqual([]);
  });

  it('any mix of names, cases and repeats: a sensitive value never comes out, and the bounds hold', () => {
    const name = fc.constantFrom('authorization', 'Cookie', 'SET-COOKIE', 'x-api-key', 'X-Planted', 'x-request-id', 'X-Tenant', 'accept');
    const header = fc.tuple(name, fc.boolean(), fc.string({ unit: fc.constantFrom('a', 'b', ' ', '%', '='), maxLength: 1100 }));
    fc.assert(fc.property(fc.array(header, { maxLength: 50 }), (headers) => {
      const capture = new AttributeCapture({ ...NONE, requestHeaders: ['authorization', 'cookie', 'x-api-key', 'x-planted', 'x-request-id', 'x-tenant'], sensitiveHeaders: ['x-planted'] });
      const sensitive = (n: string) => ['authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-planted'].includes(n.toLowerCase());
      // A sensitive header's value carries the marker; nothing else does.
      const lines = headers.map(([n, upper, v]) => `${upper ? n.toUpperCase() : n}: ${sensitive(n) ? `${SECRET}${v}` : v.trim()}`);
      const e = exchange(`GET /?a=1 HTTP/1.1\r\nHost: h\r\n${lines.join('\r\n')}${lines.length ? '\r\n' : ''}\r\n`, 'HTTP/1.1 204 No Content\r\n\r\n', capture);
      expect(text(e)).not.toContain(SECRET);
      const values = Object.entries(e.attributes).filter(([k]) => k.includes('.header.')).flatMap(([, v]) => v as string[]);
      expect(values.length).toBeLessThanOrEqual(MAX_CAPTURED_VALUES);
      for (const v of values) expect(v.length).toBeLessThanOrEqual(MAX_CAPTURED_VALUE_LENGTH);
      const wanted = headers.filter(([n]) => ['x-request-id', 'x-tenant'].includes(n.toLowerCase())).length;
      expect(values.length + capture.stats.valuesDropped).toBe(wanted);
    }), { seed: 8, numRuns: 300 });
  });
});
