/**
 * `hydrophone doctor --tls FILE`: the sensor's own attacher, dry, on real
 * binaries of each kind it meets: libssl, grpcio's stripped BoringSSL,
 * stripped static OpenSSL 3 and 1.1 programs, Go with and without DWARF, a
 * program without TLS, a missing file, rustls with and without symbols.
 * Run as the user runs it too, unprivileged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../native/addon.ts';
import { preparedPeerPaths } from '../../test/support/grpcPeers.ts';
import { goPeerBinaries } from '../../test/support/goPeers.ts';
import { openSsl11 } from '../../test/support/openssl11.ts';
import { tlsReport, tlsReportLines } from './tlsReport.ts';

const LIBSSL = '/lib/x86_64-linux-gnu/libssl.so.3';
const NOBODY = 65534;

describe('hydrophone doctor --tls', () => {
  let dir: string;
  let grpcio: string;
  let staticOpenssl: string;
  let staticOpenssl11: string;
  let go: string;
  let goNoDwarf: string;
  let rustls: string;
  let rustlsStripped: string;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-doctor-tls-'));
    chmodSync(dir, 0o755);
    const peers = await preparedPeerPaths();
    const python = peers.get('python')!;
    rustls = peers.get('rustls')!;
    rustlsStripped = peers.get('rustls_stripped')!;
    const lib = path.join(path.dirname(path.dirname(python)), 'lib');
    const cython = path.join(lib, readdirSync(lib).find((d) => d.startsWith('python'))!, 'site-packages/grpc/_cython');
    grpcio = path.join(cython, readdirSync(cython).find((f) => f.startsWith('cygrpc') && f.endsWith('.so'))!);
    staticOpenssl = path.join(dir, 'static-openssl');
    writeFileSync(`${staticOpenssl}.c`, '#include <openssl/ssl.h>\nint main(void) { return SSL_write(SSL_new(SSL_CTX_new(TLS_method())), "x", 1); }\n');
    execFileSync('cc', [`${staticOpenssl}.c`, '-static', '-s', '-o', staticOpenssl, '-lssl', '-lcrypto', '-lpthread'], { stdio: ['ignore', 'ignore', 'pipe'] });
    const ssl11 = await openSsl11();
    staticOpenssl11 = path.join(dir, 'static-openssl11');
    execFileSync('cc', ['-static', '-s', `-I${path.join(ssl11.prefix, 'include')}`, '-o', staticOpenssl11, `${staticOpenssl}.c`,
      path.join(ssl11.prefix, 'lib/libssl.a'), path.join(ssl11.prefix, 'lib/libcrypto.a'), '-lpthread', '-ldl'], { stdio: ['ignore', 'ignore', 'pipe'] });
    ({ go, noDwarf: goNoDwarf } = await goPeerBinaries());
  }, 900_000); // cold: OpenSSL 1.1.1 is built (test/peers/openssl11.sh, 75 s to 3 min)
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says for each binary what would be probed and how, or why not', () => {
    const reports = tlsReport([LIBSSL, grpcio, staticOpenssl, staticOpenssl11, go, goNoDwarf, '/bin/ls', path.join(dir, 'missing'), rustls, rustlsStripped], 'grpc');
    expect(reports.map((r) => [r.traced.map((t) => [t.library, t.functions.length, t.foundBy ?? '']), r.notTraced])).toEqual([
      [[['OpenSSL API', 4, '']], []],
      [[['BoringSSL (stripped)', 2, 'stripped BoringSSL, functions found by their error sites: SSL_read told from SSL_peek by its extra call']], []],
      [[['OpenSSL (stripped)', 4, 'stripped OpenSSL 3, functions found by the names their errors record']], []],
      [[], ['carries OpenSSL 1 but no SSL_read/SSL_write symbol (stripped): its TLS traffic is not traced']],
      [[[expect.stringMatching(/^Go crypto\/tls \(go1\.\d+(\.\d+)?\) \+ HTTP\/2 headers of grpc-go$/), 5, '']], []],
      [[], [expect.stringMatching(/no DWARF \(linked with -w or -s\)/)]],
      [[], []],
      [[], [`no such file: ${path.join(dir, 'missing')}`]],
      [[['rustls', 5, '']], []],
      [[], ['carries rustls but no symbol table (stripped): its TLS traffic is not traced; keep symbols (Cargo\'s strip = false, the default) to trace it']],
    ]);
    expect(reports[1]!.traced[0]!.functions).toEqual(['SSL_write', 'SSL_read']);
    expect(tlsReportLines(reports.slice(6, 7))).toEqual(['/bin/ls: no TLS library found (no SSL_read/SSL_write, no Go crypto/tls): nothing to probe']);
  });

  it('runs without root and loads nothing: text, and JSON', () => {
    const cli = path.join(projectRoot, 'bin/hydrophone');
    const text = spawnSync(cli, ['doctor', '--tls', LIBSSL, '--tls', staticOpenssl, '--tls', staticOpenssl11], { encoding: 'utf8', uid: NOBODY, gid: NOBODY, timeout: 60_000 });
    expect(text.status, text.stderr).toBe(0);
    expect(text.stdout).toBe([
      `${LIBSSL}: traced, OpenSSL API: uprobes on SSL_write, SSL_read, SSL_write_ex, SSL_read_ex`,
      `${staticOpenssl}: traced, OpenSSL (stripped): uprobes on SSL_write, SSL_read, SSL_write_ex, SSL_read_ex (stripped OpenSSL 3, functions found by the names their errors record)`,
      `${staticOpenssl11}: not traced: carries OpenSSL 1 but no SSL_read/SSL_write symbol (stripped): its TLS traffic is not traced`,
      '',
    ].join('\n'));
    const json = spawnSync(cli, ['doctor', '--json', '--tls', LIBSSL], { encoding: 'utf8', uid: NOBODY, gid: NOBODY, timeout: 60_000 });
    expect(json.status, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual([{ file: LIBSSL, traced: [{ library: 'OpenSSL API', functions: ['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex'] }], notTraced: [] }]);
  });
});
