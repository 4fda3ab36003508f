/**
 * `hydrophone replay` with the attributes flags, on real captures: what a
 * developer sees when trying an allow-list before a node runs it. No
 * privileges needed.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../src/native/addon.ts';
import { SHARED_CAPTURES, sharedCapturesMissing } from './support/sharedCaptures.ts';

const cli = path.join(projectRoot, 'bin/hydrophone');

interface PrintedSpan {
  name: string;
  attributes: Record<string, unknown>;
}

function replay(file: string, args: string[]): { code: number | null; spans: PrintedSpan[]; stderr: string } {
  const r = spawnSync(cli, ['replay', path.join(SHARED_CAPTURES, file), ...args], { encoding: 'utf8', timeout: 60_000 });
  const spans = r.stdout.trim() === '' ? [] : r.stdout.trim().split('\n').map((l) => JSON.parse(l) as PrintedSpan);
  return { code: r.status, spans, stderr: r.stderr };
}

const capturedKeys = (s: PrintedSpan) => Object.keys(s.attributes).filter((k) => k.includes('.header.') || k.includes('.metadata.') || k === 'url.query');

describe.skipIf(sharedCapturesMissing())('hydrophone replay with captured attributes', () => {
  it('HTTP/1: allow-listed headers and the redacted query; sensitive ones never; nothing of it by default', () => {
    const file = 'zeek-http-bro.org.pcap';
    const plain = replay(file, []);
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.spans.length).toBeGreaterThan(10);
    expect(plain.spans.flatMap(capturedKeys)).toEqual([]);

    const r = replay(file, ['--request-header', 'Accept,Cookie', '--response-header', 'Server,Set-Cookie', '--url-query', 'redacted']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/captured attributes: request headers: accept; response headers: server; .*sensitive, never captured although allow-listed: cookie, set-cookie/);
    expect(r.spans.map((s) => s.name)).toEqual(plain.spans.map((s) => s.name));
    expect(r.spans[0]!.attributes).toMatchObject({
      'http.request.header.accept': ['text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'],
      'http.response.header.server': ['Apache/2.4.6 (Fedora)'],
    });
    const keys = new Set(r.spans.flatMap(capturedKeys));
    expect(keys.has('http.request.header.cookie') || keys.has('http.response.header.set-cookie')).toBe(false);
  });

  it('HTTP/1: url.query with every value REDACTED except the allowed parameter; an allow-listed Cookie never comes out', () => {
    // This capture's requests carry Cookie headers (session ids) beside Accept.
    const r = replay('zeek-http-zero-length-bodies-with-drops.pcap', ['--url-query', 'redacted', '--query-param', 'ct', '--request-header', 'cookie,accept']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.spans.some((s) => s.attributes['http.request.header.accept'] !== undefined)).toBe(true);
    const text = JSON.stringify(r.spans);
    for (const secret of ['5587704262562959873', 'NSC_twmbewjq3', 'http.request.header.cookie']) expect(text).not.toContain(secret);
    const queries = r.spans.map((s) => s.attributes['url.query']).filter((q): q is string => typeof q === 'string');
    expect(queries.length).toBeGreaterThan(0);
    for (const q of queries) {
      for (const part of q.split('&')) expect(part, q).toMatch(/^(ct=.*|[^=]+=REDACTED)$/);
    }
  });

  it('gRPC: allow-listed metadata as rpc.grpc.*.metadata.<key>, trailers included', () => {
    const r = replay('packt-grpc-unary.pcapng', ['--grpc-request-metadata', 'User-Agent', '--grpc-response-metadata', 'grpc-status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.spans[0]!.attributes).toMatchObject({ 'rpc.grpc.request.metadata.user-agent': ['grpc-go/1.50.1'], 'rpc.grpc.response.metadata.grpc-status': ['0'] });
  });

  it('a bad name is a usage error naming the field and the flag', () => {
    const r = replay('packt-grpc-unary.pcapng', ['--request-header', 'x y']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/attributes\.requestHeaders\.0 \(from --request-header\): not a header name/);
  });
});
