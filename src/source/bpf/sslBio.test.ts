/**
 * The SSL BIO layouts against the real libraries: a C program linked with
 * the system's OpenSSL 3 (and with OpenSSL 1.1.1, built into the cache by
 * test/peers/openssl11.sh) reads each offset as bpf/lib/sslBio.h does and
 * compares it with BIO_f_ssl(), BIO_method_type() and BIO_get_ssl(). Also:
 * the layout picked per libcrypto file, and the cookie's packing.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../native/addon.ts';
import { compileC } from '../../../test/support/helperPrograms.ts';
import { openSsl11 } from '../../../test/support/openssl11.ts';
import { Enums } from './eventLayout.ts';
import { findFunctions } from './elfSymbols.ts';
import { DEPRECATED_MARK, SSL_BIO_LAYOUTS, sslBioCookie, sslBioLayoutOf, type SslBioLayout } from './sslBio.ts';

const SRC = path.join(projectRoot, 'test/helpers/sslBioLayout.c');
const BIO_TYPE_SOCKET = 5 | 0x0400 | 0x0100;

interface LayoutCheck {
  version: string;
  method: boolean;
  type: boolean;
  ssl: boolean;
  socketMethod: boolean;
  socketType: number;
}

function check(bin: string, l: SslBioLayout): LayoutCheck {
  return JSON.parse(execFileSync(bin, [l.method, l.ptr, l.type, l.ssl].map(String), { encoding: 'utf8' })) as LayoutCheck;
}

/** The libcrypto a program loads (the dynamic loader's own answer). */
function libcryptoOf(bin: string): string {
  const out = execFileSync(bin, [], { env: { ...process.env, LD_TRACE_LOADED_OBJECTS: '1' }, encoding: 'utf8' });
  const m = /libcrypto\.so\.[\d.]+ => (\S+)/.exec(out);
  if (!m) throw new Error(`${bin} loads no libcrypto: ${out}`);
  return m[1]!;
}

function exportsDeprecated(libcrypto: string): boolean {
  const r = findFunctions(libcrypto, [DEPRECATED_MARK]);
  if (!r.ok) throw new Error(`${libcrypto}: ${r.error}`);
  return r.value.offsets.has(DEPRECATED_MARK);
}

describe('SSL BIO layouts match the real OpenSSL', () => {
  it('OpenSSL 3 (the system\'s libssl-dev)', () => {
    const bin = compileC(SRC, path.join(projectRoot, 'build/test-helpers'), ['-Wl,--no-as-needed', '-lssl', '-lcrypto']);
    const lib = libcryptoOf(bin);
    const layout = sslBioLayoutOf(path.basename(lib), exportsDeprecated(lib));
    expect(layout).toBe(SSL_BIO_LAYOUTS.openssl3);
    const got = check(bin, layout!);
    expect(got.version).toMatch(/^OpenSSL 3\./);
    expect(got).toMatchObject({ method: true, type: true, ssl: true, socketMethod: true, socketType: BIO_TYPE_SOCKET });
    // A wrong table must fail: 1.1.1's offsets on OpenSSL 3.
    expect(check(bin, SSL_BIO_LAYOUTS.openssl111)).toMatchObject({ method: false, ssl: false });
  });

  it('OpenSSL 1.1.1 (test/peers/openssl11.sh)', async () => {
    const ssl11 = await openSsl11(); // cold: downloads and builds OpenSSL 1.1.1 (75 s to 3 min on 2 cores)
    const lib = path.join(ssl11.prefix, 'lib');
    const bin = compileC(SRC, path.join(projectRoot, 'build/test-helpers/openssl11'), [
      `-I${path.join(ssl11.prefix, 'include')}`, `-L${lib}`, `-Wl,-rpath,${lib}`, '-Wl,--no-as-needed', '-lssl', '-lcrypto',
    ]);
    const libcrypto = libcryptoOf(bin);
    expect(libcrypto.startsWith(lib)).toBe(true);
    const layout = sslBioLayoutOf(path.basename(libcrypto), exportsDeprecated(libcrypto));
    expect(layout).toBe(SSL_BIO_LAYOUTS.openssl111);
    const got = check(bin, layout!);
    expect(got.version).toMatch(/^OpenSSL 1\.1\.1/);
    expect(got).toMatchObject({ method: true, type: true, ssl: true, socketMethod: true, socketType: BIO_TYPE_SOCKET });
    expect(check(bin, SSL_BIO_LAYOUTS.openssl3)).toMatchObject({ method: false, ssl: false });
  }, 900_000);
});

describe('sslBioLayoutOf', () => {
  it.each([
    ['libcrypto.so.3', true, SSL_BIO_LAYOUTS.openssl3],
    ['libcrypto.so.3', false, SSL_BIO_LAYOUTS.openssl3NoDeprecated],
    ['libcrypto.so.1.1', true, SSL_BIO_LAYOUTS.openssl111],
    ['libcrypto.so.1.0.0', true, undefined],
    ['libcrypto.so', true, undefined],
    ['libssl.so.3', true, undefined],
  ] as const)('%s (deprecated API exported: %s)', (name, deprecated, layout) => {
    expect(sslBioLayoutOf(name, deprecated)).toBe(layout);
  });
});

describe('sslBioCookie', () => {
  it('packs the four offsets a byte each, then the direction and the _ex flag', () => {
    const c = sslBioCookie(SSL_BIO_LAYOUTS.openssl3, Enums.HP_DIR_INGRESS, true);
    const byte = (shift: number) => Number((c >> BigInt(shift)) & 0xffn);
    expect([
      byte(Enums.HP_SSL_BIO_COOKIE_METHOD_SHIFT), byte(Enums.HP_SSL_BIO_COOKIE_PTR_SHIFT), byte(Enums.HP_SSL_BIO_COOKIE_TYPE_SHIFT),
      byte(Enums.HP_SSL_BIO_COOKIE_SSL_SHIFT), byte(Enums.HP_SSL_BIO_COOKIE_DIR_SHIFT), byte(Enums.HP_SSL_BIO_COOKIE_EX_SHIFT),
    ]).toEqual([8, 64, 0, 0, Enums.HP_DIR_INGRESS, 1]);
    expect(c >> BigInt(Enums.HP_SSL_BIO_COOKIE_EX_SHIFT + 8)).toBe(0n);
    expect(sslBioCookie(SSL_BIO_LAYOUTS.openssl111, Enums.HP_DIR_EGRESS, false)).toBe(
      (56n << BigInt(Enums.HP_SSL_BIO_COOKIE_PTR_SHIFT)) | (BigInt(Enums.HP_DIR_EGRESS) << BigInt(Enums.HP_SSL_BIO_COOKIE_DIR_SHIFT)));
  });

  it('refuses an offset that does not fit a byte', () => {
    expect(() => sslBioCookie({ ...SSL_BIO_LAYOUTS.openssl3, ptr: 256 }, Enums.HP_DIR_EGRESS, false)).toThrow(/256/);
  });
});
