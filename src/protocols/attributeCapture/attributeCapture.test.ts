import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  AttributeCapture, CapturedValues, MAX_CAPTURED_VALUES, SENSITIVE_HEADERS, MAX_CAPTURED_VALUE_LENGTH, MAX_QUERY_LENGTH,
  attributeCaptureOf, queryOf, redactQuery, type AttributeCaptureSettings,
} from './index.ts';
import type { AttributeValue } from '../../spans/span.ts';

const NONE: AttributeCaptureSettings = {
  requestHeaders: [], responseHeaders: [], grpcRequestMetadata: [], grpcResponseMetadata: [], sensitiveHeaders: [], urlQuery: 'off', queryParams: [],
};
const settings = (s: Partial<AttributeCaptureSettings>): AttributeCaptureSettings => ({ ...NONE, ...s });

describe('redactQuery', () => {
  it.each([
    ['every value redacted, names kept', 'token=abc&page=2', [], 'token=REDACTED&page=REDACTED'],
    ['an allowed name keeps its value', 'token=abc&page=2', ['page'], 'token=REDACTED&page=2'],
    ['allowed names are case-sensitive', 'Page=2', ['page'], 'Page=REDACTED'],
    ['a percent-encoded allowed name', 'pa%67e=2&q=x', ['page'], 'pa%67e=2&q=REDACTED'],
    ['a bare part could be a token: redacted whole', 'abcdef123&page=2', ['page'], 'REDACTED&page=2'],
    ['a bare allowed name stays', 'debug&x=1', ['debug'], 'debug&x=REDACTED'],
    ['"=" inside a value', 'sig=a=b=c', [], 'sig=REDACTED'],
    ['an empty name', '=secret', [], '=REDACTED'],
    ['empty parts kept as they are', 'a=1&&b=2&', ['b'], 'a=REDACTED&&b=2&'],
    ['an empty value is still replaced', 'a=', [], 'a=REDACTED'],
    ['a malformed percent-encoding is not allowed', 'pa%zz=1', ['page'], 'pa%zz=REDACTED'],
  ])('%s', (_name, query, allowed, expected) => {
    expect(redactQuery(query, new Set(allowed))).toBe(expected);
  });
});

describe('queryOf', () => {
  it.each([
    ['/p?a=1', 'a=1'],
    ['/p?a=1#frag', 'a=1'],
    ['/p', undefined],
    ['/p?', undefined],
    ['/p#x?y', undefined],
    ['http://h/p?q=2', 'q=2'],
  ])('%s -> %s', (target, expected) => {
    expect(queryOf(target)).toBe(expected);
  });
});

describe('AttributeCapture', () => {
  it('asks for nothing by default: no capture object at all', () => {
    expect(attributeCaptureOf(NONE)).toBeUndefined();
    expect(attributeCaptureOf(settings({ sensitiveHeaders: ['x-secret'], queryParams: [] }))).toBeUndefined();
    expect(attributeCaptureOf(settings({ urlQuery: 'redacted' }))).toBeInstanceOf(AttributeCapture);
  });

  it.each([
    ['a built-in sensitive header', ['Authorization', 'x-request-id'], [], ['x-request-id'], ['authorization']],
    ['every built-in one', ['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key', 'x-auth-token'], [], [], ['authorization', 'cookie', 'proxy-authorization', 'set-cookie', 'x-api-key', 'x-auth-token']],
    ['a configured sensitive header, in another case', ['X-Planted', 'x-ok'], ['x-PLANTED'], ['x-ok'], ['x-planted']],
  ])('leaves %s off the allow-lists, however named', (_name, requestHeaders, sensitiveHeaders, kept, leftOut) => {
    const c = new AttributeCapture(settings({ requestHeaders, sensitiveHeaders, grpcRequestMetadata: requestHeaders }));
    expect(c.http1Request?.entries.map((e) => e.name) ?? []).toEqual(kept);
    expect(c.http2Request?.entries.map((e) => e.name) ?? []).toEqual(kept);
    expect(c.sensitiveLeftOut).toEqual(leftOut);
    expect(c.describe()).toContain(leftOut.join(', '));
  });

  it('the README names every built-in sensitive header', () => {
    const readme = readFileSync(path.resolve(import.meta.dirname, '../../../README.md'), 'utf8').replace(/\s+/g, ' ');
    const listed = /Built in: ([^;]*);/.exec(readme)?.[1]?.split(', ').map((n) => n.trim());
    expect(listed).toEqual([...SENSITIVE_HEADERS]);
  });

  it('matches names in any case, in bytes (HTTP/1) and in strings (HTTP/2)', () => {
    const names = new AttributeCapture(settings({ requestHeaders: ['X-Request-ID'] })).http1Request!;
    const line = Buffer.from('X-REQUEST-id', 'latin1');
    expect(names.matchBytes(line, 0, line.length)).toBe(0);
    expect(names.matchBytes(line, 0, line.length - 1)).toBe(-1);
    expect(names.match('x-request-id')).toBe(0);
    expect(names.match('X-Request-Id')).toBe(0);
    expect(names.match('x-request')).toBe(-1);
  });

  it('reports a name under the key of each list that names it', () => {
    const c = new AttributeCapture(settings({ requestHeaders: ['x-both', 'x-http'], grpcRequestMetadata: ['x-both', 'x-grpc'] }));
    const names = c.http2Request!;
    let held: CapturedValues | undefined;
    for (const [n, v] of [['x-both', '1'], ['x-http', '2'], ['x-grpc', '3'], ['x-both', '4']] as const) held = names.keep(held, names.match(n), v);
    const http: Record<string, AttributeValue> = {};
    const grpc: Record<string, AttributeValue> = {};
    held!.addTo(http, 'http');
    held!.addTo(grpc, 'grpc');
    expect(http).toEqual({ 'http.request.header.x-both': ['1', '4'], 'http.request.header.x-http': ['2'] });
    expect(grpc).toEqual({ 'rpc.grpc.request.metadata.x-both': ['1', '4'], 'rpc.grpc.request.metadata.x-grpc': ['3'] });
  });

  it('bounds what one message keeps, and counts what it cuts', () => {
    const c = new AttributeCapture(settings({ responseHeaders: ['x-many'] }));
    const names = c.http1Response!;
    let held: CapturedValues | undefined;
    for (let i = 0; i < MAX_CAPTURED_VALUES + 5; i++) held = names.keep(held, 0, i === 0 ? 'v'.repeat(MAX_CAPTURED_VALUE_LENGTH + 10) : `v${i}`);
    expect(held!.values).toHaveLength(MAX_CAPTURED_VALUES);
    expect(held!.values[0]).toHaveLength(MAX_CAPTURED_VALUE_LENGTH);
    expect(c.stats).toEqual({ valuesDropped: 5, valuesTruncated: 1 });
  });

  it('url.query: off gives nothing; redacted is cut at its bound', () => {
    expect(new AttributeCapture(settings({ requestHeaders: ['a'] })).urlQuery('a=1')).toBeUndefined();
    const c = new AttributeCapture(settings({ urlQuery: 'redacted', queryParams: ['keep'] }));
    expect(c.urlQuery('keep=1&drop=2')).toBe('keep=1&drop=REDACTED');
    expect(c.urlQuery(`keep=${'k'.repeat(MAX_QUERY_LENGTH)}`)).toHaveLength(MAX_QUERY_LENGTH);
    expect(c.stats.valuesTruncated).toBe(1);
  });
});
