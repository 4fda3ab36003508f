/**
 * OpenSSL's SSL BIO (BIO_f_ssl()) as the BIO uprobes see it
 * (bpf/lib/sslBio.h): which libcrypto functions are probed, where each
 * OpenSSL version keeps a BIO's method and data, and how both are packed
 * into a probe's cookie (bpf/abi.h, enum hp_ssl_bio).
 *
 * The structs are private to OpenSSL (crypto/bio/bio_local.h,
 * ssl/bio_ssl.c; the installed headers keep them opaque), so the offsets
 * are a table per version, read from OpenSSL's source for LP64 (x86-64,
 * arm64) and checked against the real libraries by sslBio.test.ts (a C
 * program compares them with BIO_f_ssl() and BIO_get_ssl()):
 *
 *   3.x    struct bio_st { OSSL_LIB_CTX *libctx; const BIO_METHOD *method;
 *          BIO_callback_fn callback (absent with no-deprecated);
 *          BIO_callback_fn_ex callback_ex; char *cb_arg; int init, shutdown,
 *          flags, retry_reason, num; void *ptr; ... }
 *   1.1.1  the same without libctx.
 *   both   struct bio_method_st { int type; ... };
 *          bio->ptr of an SSL BIO is a BIO_SSL { SSL *ssl; ... }.
 */
import { Enums } from './eventLayout.ts';
import { findFunctions } from './elfSymbols.ts';

export interface SslBioLayout {
  /** Which OpenSSL this is, for the log. */
  readonly name: string;
  /** offsetof(struct bio_st, method) */
  readonly method: number;
  /** offsetof(struct bio_st, ptr): an SSL BIO's BIO_SSL */
  readonly ptr: number;
  /** offsetof(struct bio_method_st, type) */
  readonly type: number;
  /** offsetof(BIO_SSL, ssl): the SSL* its SSL_read/SSL_write calls would take */
  readonly ssl: number;
}

export const SSL_BIO_LAYOUTS = {
  openssl3: { name: 'OpenSSL 3', method: 8, ptr: 64, type: 0, ssl: 0 },
  /** Built with no-deprecated (OPENSSL_NO_DEPRECATED_3_0): no `callback` field. */
  openssl3NoDeprecated: { name: 'OpenSSL 3 (no-deprecated)', method: 8, ptr: 56, type: 0, ssl: 0 },
  openssl111: { name: 'OpenSSL 1.1.1', method: 0, ptr: 56, type: 0, ssl: 0 },
} as const satisfies Record<string, SslBioLayout>;

/** libcrypto's sonames whose layout is known. */
export const LIBCRYPTO = /^libcrypto\.so\.(3|1\.1)$/;

/** A function deprecated in 3.0 that a no-deprecated build does not export. */
export const DEPRECATED_MARK = 'BIO_set_callback';

/**
 * The layout of a libcrypto by its file name (libcrypto.so.3 or .so.1.1)
 * and whether it exports the deprecated API; undefined for another name.
 */
export function sslBioLayoutOf(fileName: string, exportsDeprecated: boolean): SslBioLayout | undefined {
  const m = LIBCRYPTO.exec(fileName);
  if (!m) return undefined;
  if (m[1] === '1.1') return SSL_BIO_LAYOUTS.openssl111;
  return exportsDeprecated ? SSL_BIO_LAYOUTS.openssl3 : SSL_BIO_LAYOUTS.openssl3NoDeprecated;
}

/** The probed functions: int BIO_read(BIO *, void *, int) and the others alike. */
export const SSL_BIO_FUNCTIONS = [
  { name: 'BIO_read', direction: Enums.HP_DIR_INGRESS, ex: false },
  { name: 'BIO_write', direction: Enums.HP_DIR_EGRESS, ex: false },
  { name: 'BIO_read_ex', direction: Enums.HP_DIR_INGRESS, ex: true },
  { name: 'BIO_write_ex', direction: Enums.HP_DIR_EGRESS, ex: true },
] as const;

/** The BPF programs (bpf/sensor.bpf.c): one for every entry, one for every return. */
export const SSL_BIO_ENTRY_PROGRAM = 'hp_up_ssl_bio';
export const SSL_BIO_RETURN_PROGRAM = 'hp_urp_ssl_bio';

/** The cookie of one BIO probe: the layout's offsets, one byte each, the direction and the _ex flag. */
export function sslBioCookie(layout: SslBioLayout, direction: number, ex: boolean): bigint {
  const byte = (value: number, shift: number): bigint => {
    if (!Number.isInteger(value) || value < 0 || value > 0xff) throw new RangeError(`SSL BIO offset ${value} does not fit the cookie's byte`);
    return BigInt(value) << BigInt(shift);
  };
  return byte(layout.method, Enums.HP_SSL_BIO_COOKIE_METHOD_SHIFT) | byte(layout.ptr, Enums.HP_SSL_BIO_COOKIE_PTR_SHIFT) |
    byte(layout.type, Enums.HP_SSL_BIO_COOKIE_TYPE_SHIFT) | byte(layout.ssl, Enums.HP_SSL_BIO_COOKIE_SSL_SHIFT) |
    byte(direction, Enums.HP_SSL_BIO_COOKIE_DIR_SHIFT) | byte(ex ? 1 : 0, Enums.HP_SSL_BIO_COOKIE_EX_SHIFT);
}

/** What the addon offers for placing one probe (src/native/addon.ts). */
export interface SslBioProbeSensor {
  attachUprobe(options: { program: string; binaryPath: string; offset: number; retprobe?: boolean; cookie?: bigint }): number;
  detachUprobe(id: number): boolean;
}

export type SslBioProbes =
  | { ok: true; layout: SslBioLayout; functions: string[]; links: number[] }
  | { ok: false; reason: string };

/**
 * Places the SSL BIO probes on one libcrypto file (`openedAs`, named
 * `fileName` as the process maps it): return probes first, so a call in
 * progress returns without an entry (ignored) and no entry is left without
 * its return. All or nothing.
 */
export function probeSslBio(sensor: SslBioProbeSensor, openedAs: string, fileName: string): SslBioProbes {
  const found = findFunctions(openedAs, [...SSL_BIO_FUNCTIONS.map((f) => f.name), DEPRECATED_MARK]);
  if (!found.ok) return { ok: false, reason: `not readable as ELF: ${found.error}` };
  const offsets = found.value.offsets;
  const layout = sslBioLayoutOf(fileName, offsets.has(DEPRECATED_MARK));
  if (!layout) return { ok: false, reason: `no SSL BIO layout known for ${fileName} (only libcrypto.so.3 and libcrypto.so.1.1)` };
  const functions = SSL_BIO_FUNCTIONS.filter((f) => offsets.has(f.name));
  if (!functions.length) return { ok: false, reason: `no BIO_read/BIO_write symbol (${found.value.hasSymtab ? 'not exported' : 'stripped'})` };
  const links: number[] = [];
  try {
    for (const retprobe of [true, false]) {
      for (const f of functions) {
        links.push(sensor.attachUprobe({
          program: retprobe ? SSL_BIO_RETURN_PROGRAM : SSL_BIO_ENTRY_PROGRAM, binaryPath: openedAs, offset: offsets.get(f.name)!,
          ...(retprobe ? { retprobe } : {}), cookie: sslBioCookie(layout, f.direction, f.ex),
        }));
      }
    }
  } catch (err) {
    for (const id of links) sensor.detachUprobe(id);
    return { ok: false, reason: `uprobes refused: ${(err as Error).message.split('\n')[0]}` };
  }
  return { ok: true, layout, functions: functions.map((f) => f.name), links };
}
