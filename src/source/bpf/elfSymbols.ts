/**
 * Just enough ELF to place uprobes: the file offsets of named functions,
 * from .dynsym (exported) or .symtab (full symbol table, when not
 * stripped), and whether a binary without them still carries a TLS
 * library's version string (so a stripped one is reported, not skipped).
 * ELF64 little-endian only (x86-64, arm64); anything else is a value, not
 * an exception.
 */
import { STT_FUNC, STT_GNU_IFUNC, withElf, type ElfFile } from './elfFile.ts';

export interface ElfFunctions {
  /** name -> file offset of its first instruction (what a uprobe takes). */
  readonly offsets: ReadonlyMap<string, number>;
  /** Names among those asked for that the binary imports (defined in a shared library). */
  readonly imported: ReadonlySet<string>;
  readonly hasDynsym: boolean;
  readonly hasSymtab: boolean;
}

export type ElfResult = { ok: true; value: ElfFunctions } | { ok: false; error: string };

function scanTable(f: ElfFile, kind: 'symtab' | 'dynsym', wanted: Set<string>, out: Map<string, number>, imported: Set<string>): void {
  f.symbols(kind, (name) => wanted.has(name) && !out.has(name), (sym) => {
    if (sym.type !== STT_FUNC && sym.type !== STT_GNU_IFUNC && sym.type !== 0) return;
    if (out.has(sym.name)) return;
    if (sym.shndx === 0) {
      imported.add(sym.name); // undefined here: a shared library defines it
      return;
    }
    if (sym.type === 0) return;
    const offset = f.fileOffset(sym.value);
    if (offset !== undefined) out.set(sym.name, offset);
  });
}

/** File offsets of the named functions that `path` defines. */
export function findFunctions(path: string, names: readonly string[]): ElfResult {
  return withElf(path, (f) => {
    const offsets = new Map<string, number>();
    const imported = new Set<string>();
    const wanted = new Set(names);
    const hasDynsym = f.hasSymbolTable('dynsym');
    const hasSymtab = f.hasSymbolTable('symtab');
    if (hasDynsym) scanTable(f, 'dynsym', wanted, offsets, imported);
    if (hasSymtab && offsets.size < wanted.size) scanTable(f, 'symtab', wanted, offsets, imported);
    return { offsets, imported, hasDynsym, hasSymtab };
  });
}

/** Version strings a TLS library leaves in its read-only data (OpenSSL's only when OpenSSL_version is linked in). */
const VERSION_MARKS = [Buffer.from('OpenSSL 1.'), Buffer.from('OpenSSL 3.')];
/**
 * The source file name libssl's errors carry: BoringSSL's ssl/ssl_lib.cc,
 * OpenSSL's ssl/ssl_lib.c. A version string alone is also in programs that
 * only talk about OpenSSL (Python's _hashlib: "For OpenSSL 3.0.0 and
 * newer...") or link it dynamically (/usr/bin/openssl).
 */
const BORINGSSL_SOURCE = Buffer.from('ssl/ssl_lib.cc\0');
const OPENSSL_SOURCE = Buffer.from('ssl/ssl_lib.c\0');
/** Cargo's path of rustls's sources, in its panic locations: rustls's code is linked in. */
const RUSTLS_SOURCES = [Buffer.from('/rustls-0.'), Buffer.from('/rustls-1.')];
const MAX_RODATA_BYTES = 64 * 1024 * 1024;

/**
 * Which TLS library a binary carries the code of, if any: 'BoringSSL',
 * 'OpenSSL' (with its major version when OpenSSL_version is linked in;
 * libssl's error sites name their file), or 'rustls'. One read of .rodata,
 * for binaries without the OpenSSL API's symbols: it says which finder to
 * run (boringsslFunctions.ts, findRustlsFunctions) or what to report.
 */
export function tlsLibraryMark(path: string): string | undefined {
  const r = withElf(path, (f) => {
    const rodata = f.section('.rodata');
    if (!rodata || rodata.size > MAX_RODATA_BYTES) return undefined;
    const bytes = f.read(rodata.offset, rodata.size);
    if (bytes.includes(BORINGSSL_SOURCE)) return 'BoringSSL';
    if (!bytes.includes(OPENSSL_SOURCE)) return RUSTLS_SOURCES.some((m) => bytes.includes(m)) ? 'rustls' : undefined;
    const version = VERSION_MARKS.find((m) => bytes.includes(m));
    return version ? version.toString('latin1').replace(/\.$/, '') : 'OpenSSL';
  });
  return r.ok ? r.value : undefined;
}

/**
 * rustls's plaintext entry points, by their mangled names in .symtab (Rust
 * keeps symbols in release builds unless told to strip):
 * `<rustls::conn::connection::Writer as std::io::Write>::write` and
 * `write_vectored`, `<…::Reader as std::io::Read>::read`, and what
 * tokio-rustls reads with, `Reader::into_first_chunk` and `<Reader as
 * BufRead>::consume` (rustls 0.22+; `rustls::conn::Writer` before). The hash
 * suffix differs per build, so names are matched.
 */
export const RUSTLS_FUNCTIONS = {
  'rustls Writer::write': /^_ZN\d+_\$LT\$rustls\.\.conn\.\.(?:connection\.\.)?Writer\$u20\$as\$u20\$std\.\.io\.\.Write\$GT\$5write17h[0-9a-f]{16}E$/,
  'rustls Writer::write_vectored': /^_ZN\d+_\$LT\$rustls\.\.conn\.\.(?:connection\.\.)?Writer\$u20\$as\$u20\$std\.\.io\.\.Write\$GT\$14write_vectored17h[0-9a-f]{16}E$/,
  'rustls Reader::read': /^_ZN\d+_\$LT\$rustls\.\.conn\.\.(?:connection\.\.)?Reader\$u20\$as\$u20\$std\.\.io\.\.Read\$GT\$4read17h[0-9a-f]{16}E$/,
  'rustls Reader::into_first_chunk': /^_ZN6rustls4conn(?:10connection)?6Reader16into_first_chunk17h[0-9a-f]{16}E$/,
  'rustls Reader::consume': /^_ZN\d+_\$LT\$rustls\.\.conn\.\.(?:connection\.\.)?Reader\$u20\$as\$u20\$std\.\.io\.\.BufRead\$GT\$7consume17h[0-9a-f]{16}E$/,
} as const;

/**
 * File offsets of rustls's plaintext functions in `path`, by name; none
 * when it has no symbol table (`hasSymtab` false: stripped).
 */
export function findRustlsFunctions(path: string): { ok: true; value: { offsets: Map<string, number>; hasSymtab: boolean } } | { ok: false; error: string } {
  return withElf(path, (f) => {
    const offsets = new Map<string, number>();
    if (!f.hasSymbolTable('symtab')) return { offsets, hasSymtab: false };
    const patterns = Object.entries(RUSTLS_FUNCTIONS);
    f.symbols('symtab', (name) => name.includes('rustls..conn..') || name.startsWith('_ZN6rustls4conn'), (sym) => {
      if (sym.type !== STT_FUNC || sym.shndx === 0) return;
      const hit = patterns.find(([name, re]) => !offsets.has(name) && re.test(sym.name));
      const offset = hit ? f.fileOffset(sym.value) : undefined;
      if (hit && offset !== undefined) offsets.set(hit[0], offset);
      return offsets.size < patterns.length;
    });
    return { offsets, hasSymtab: true };
  });
}
