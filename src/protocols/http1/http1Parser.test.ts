/**
 * HTTP/1.x conversations, chunk by chunk as a connection delivers them,
 * against golden exchanges in testdata/<case>.json. UPDATE_GOLDEN=1
 * rewrites the golden files; review the diff: they must be right, not
 * merely what the parser said.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Exchange, Side } from '../contract.ts';
import { http1Protocol } from './index.ts';

const testdata = path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata');

type Step = [Side, string] | [Side, 'gap', number] | ['close'];

function run(steps: Step[]): { exchanges: Exchange[]; stats: object; buffered: number } {
  const exchanges: Exchange[] = [];
  const parser = http1Protocol.createParser((e) => exchanges.push(e), { fromStart: true });
  let ts = 1000n;
  for (const step of steps) {
    ts += 1000n;
    if (step[0] === 'close') parser.onClose(ts);
    else if (step[1] === 'gap') parser.onGap(step[0], step[2] as number, ts);
    else parser.onData(step[0], Buffer.from(step[1], 'latin1'), ts);
  }
  return { exchanges, stats: { ...parser.stats }, buffered: parser.bufferedBytes() };
}

const GET = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: example.test:8080\r\nUser-Agent: curl/8\r\n${extra}\r\n`;
const OK = (body: string, extra = '') => `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n${extra}\r\n${body}`;

const CASES: Array<[string, Step[]]> = [
  ['keep-alive', [['request', GET('/users/42')], ['response', OK('hello')], ['request', GET('/users/43?x=1')], ['response', 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n'], ['close']]],
  ['pipelined-one-segment', [['request', GET('/bar/') + GET('/foo/')], ['response', OK('bar') + OK('foo')]]],
  ['chunked-split-everywhere', [
    ['request', GET('/c')],
    ['response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5'],
    ['response', '\r\nhel'], ['response', 'lo\r'], ['response', '\n6;ext=1\r\n world\r\n'], ['response', '0\r\nX-Trailer: t\r\n'], ['response', '\r\n'],
  ]],
  ['head-204-304-no-body', [
    ['request', 'HEAD /big HTTP/1.1\r\nHost: h\r\n\r\n'], ['response', 'HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n'],
    ['request', 'DELETE /x/1 HTTP/1.1\r\nHost: h\r\n\r\n'], ['response', 'HTTP/1.1 204 No Content\r\n\r\n'],
    ['request', GET('/cached', 'If-None-Match: "a"\r\n')], ['response', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n'],
  ]],
  ['expect-100-continue', [
    ['request', 'POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n'],
    ['response', 'HTTP/1.1 100 Continue\r\n\r\n'], ['request', 'hello world'], ['response', OK('{"ok":true}')],
  ]],
  ['websocket-upgrade', [
    ['request', GET('/chat', 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n')],
    ['response', 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello'],
    ['request', '\x81\x85abcdGET / HTTP/1.1\r\n\r\n'], ['response', 'HTTP/1.1 200 OK\r\n\r\n'],
  ]],
  ['http10-body-until-close', [['request', 'GET / HTTP/1.0\r\n\r\n'], ['response', 'HTTP/1.0 200 OK\r\nServer: x\r\n\r\npart one '], ['response', 'part two'], ['close']]],
  ['gap-inside-known-body', [['request', GET('/file')], ['response', 'HTTP/1.1 200 OK\r\nContent-Length: 10000\r\n\r\nfirst bytes'], ['response', 'gap', 9980], ['response', 'last bytes'.slice(1)], ['request', GET('/next')], ['response', OK('n')]]],
  ['gap-inside-response-head-resyncs', [
    ['request', GET('/a')], ['response', 'HTTP/1.1 200 OK\r\nCont'], ['response', 'gap', 40], ['response', 'ent-Length: 3\r\n\r\nabc'],
    ['request', GET('/b')], ['response', OK('b')],
  ]],
  ['garbage-then-request', [['request', '\x16\x03\x01garbage\r\n' + GET('/after')], ['response', OK('ok')]]],
  ['unknown-method', [['request', 'PURGE /cache HTTP/1.1\r\nHost: h\r\n\r\n'], ['response', OK('')], ['request', 'PROPFIND /dav HTTP/1.1\r\nHost: h\r\n\r\n'], ['response', 'HTTP/1.1 207 Multi-Status\r\nContent-Length: 0\r\n\r\n']]],
  ['response-without-request', [['response', OK('late')], ['request', GET('/x')], ['response', OK('x')]]],
  ['server-error-and-traceparent', [
    ['request', GET('/fail', 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\nAuthorization: Bearer s3cr3t\r\nCookie: id=s3cr3t\r\n')],
    ['response', 'HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\nSet-Cookie: s=s3cr3t\r\n\r\nbusy'],
  ]],
  ['post-chunked-request-body', [['request', 'POST /api/v1/items HTTP/1.1\r\nHost: [::1]:9000\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n'], ['response', 'HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}']]],
  ['unanswered-at-close', [['request', GET('/slow')], ['close']]],
  ['head-too-large', [['request', `GET / HTTP/1.1\r\nX-Big: ${'a'.repeat(70_000)}\r\n\r\n`], ['request', GET('/ok')], ['response', OK('ok')]]],
];

describe('HTTP/1.x parser (golden)', () => {
  it.each(CASES)('%s', (name, steps) => {
    const got = run(steps);
    const file = path.join(testdata, `${name}.json`);
    const json = `${JSON.stringify(got, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`;
    if (process.env.UPDATE_GOLDEN || !existsSync(file)) writeFileSync(file, json);
    expect(json).toBe(readFileSync(file, 'utf8'));
    expect(json).not.toContain('s3cr3t');
  });
});

describe('HTTP/1.x parser (bounds)', () => {
  it('pipelining deeper than the queue: the overflow is counted, never paired with the wrong request', () => {
    const { exchanges, stats } = run([
      ['request', Array.from({ length: 300 }, (_, i) => GET(`/p/${i}`)).join('')],
      ['response', Array.from({ length: 300 }, (_, i) => OK('x'.repeat(i))).join('')],
    ]);
    expect(exchanges).toHaveLength(256);
    // Each paired response's body is as long as its request's number: no shift anywhere.
    for (const [i, e] of exchanges.entries()) {
      expect(e.attributes['url.path']).toBe(`/p/${i}`);
      expect(e.attributes['http.response.body.size']).toBe(i);
    }
    expect(stats).toMatchObject({ unansweredRequests: 44, orphanResponses: 0 });
  });
});

describe('HTTP/1.x parser (robustness)', () => {
  const conversation: Step[] = [
    ['request', GET('/a') + 'POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello'],
    ['response', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n' + OK('posted')],
  ];

  it('survives every truncation and single-byte mutation of a real conversation', () => {
    const req = Buffer.from((conversation[0] as [Side, string])[1], 'latin1');
    const res = Buffer.from((conversation[1] as [Side, string])[1], 'latin1');
    for (const [buf, side] of [[req, 'request'], [res, 'response']] as const) {
      for (let cut = 0; cut <= buf.length; cut++) {
        for (const mutate of [false, true]) {
          const exchanges: Exchange[] = [];
          const p = http1Protocol.createParser((e) => exchanges.push(e), { fromStart: true });
          const copy = Buffer.from(buf.subarray(0, cut));
          if (mutate && cut > 0) copy[cut >> 1] = (copy[cut >> 1]! + 77) & 0xff;
          p.onData(side === 'request' ? 'response' : 'request', side === 'request' ? res : req, 1n);
          p.onData(side, copy, 2n);
          p.onClose(3n);
          expect(exchanges.length).toBeLessThanOrEqual(2);
          expect(p.bufferedBytes()).toBe(0);
        }
      }
    }
  });

  it('never throws on random bytes and keeps its buffers bounded', () => {
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const p = http1Protocol.createParser(() => {}, { fromStart: true });
    for (let i = 0; i < 2000; i++) {
      const chunk = Buffer.alloc(1 + Math.floor(rand() * 2000));
      for (let j = 0; j < chunk.length; j++) chunk[j] = rand() < 0.1 ? 0x0a : Math.floor(rand() * 256);
      if (rand() < 0.05) p.onGap(rand() < 0.5 ? 'request' : 'response', Math.floor(rand() * 1e6), BigInt(i));
      else p.onData(rand() < 0.5 ? 'request' : 'response', chunk, BigInt(i));
      expect(p.bufferedBytes()).toBeLessThanOrEqual(2 * 64 * 1024 + 4096);
    }
    expect(p.stats.invalidBytes).toBeGreaterThan(0);
  });
});
