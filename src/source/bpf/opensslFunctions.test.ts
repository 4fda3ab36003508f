/**
 * The stripped static OpenSSL 3 finder against real builds: a program
 * linked with Debian's libssl.a, stripped, must give the addresses its
 * unstripped twin's symbol table names; OpenSSL 1.1 (test/peers/openssl11.sh)
 * and a program without OpenSSL are refused with the reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { withElf } from './elfFile.ts';
import { findFunctions } from './elfSymbols.ts';
import { findOpensslFunctions } from './opensslFunctions.ts';
import { openSsl11 } from '../../../test/support/openssl11.ts';

const API = ['SSL_read', 'SSL_write', 'SSL_read_ex', 'SSL_write_ex'];
/** Its own perror("SSL_write") and perror("SSL_read") load the strings OpenSSL's functions load (the linker merges them). */
const PROGRAM = '#include <openssl/ssl.h>\n#include <stdio.h>\nint main(void) {\n  SSL *s = SSL_new(SSL_CTX_new(TLS_method()));\n  size_t n;\n  char b[4];\n' +
  '  if (SSL_write(s, "x", 1) <= 0) perror("SSL_write");\n  if (SSL_read(s, b, 4) <= 0) perror("SSL_read");\n  return SSL_write_ex(s, "x", 1, &n) + SSL_read_ex(s, b, 4, &n);\n}\n';

/** What the finder says of `file`: the functions' file offsets by name, or its error. */
function found(file: string): Record<string, number> | string {
  const r = withElf(file, (f) => {
    const x = findOpensslFunctions(f);
    return x.ok ? Object.fromEntries([...x.value.addresses].map(([name, vaddr]) => [name, f.fileOffset(vaddr)!])) : x.error;
  });
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

describe('findOpensslFunctions', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'hp-openssl-fn-'));
    writeFileSync(path.join(dir, 'p.c'), PROGRAM);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const build = (out: string, flags: string[]) => {
    execFileSync('cc', ['-O2', ...flags, '-static', '-o', path.join(dir, out), path.join(dir, 'p.c'), '-lssl', '-lcrypto', '-lpthread'], { stdio: ['ignore', 'ignore', 'pipe'] });
    return path.join(dir, out);
  };

  it('finds the four functions of a stripped static OpenSSL 3 where its unstripped twin\'s symbols put them, past the program\'s own loads of their names', () => {
    const full = build('full', []);
    const stripped = path.join(dir, 'stripped');
    execFileSync('strip', ['-o', stripped, full]);
    const symbols = findFunctions(full, API);
    if (!symbols.ok) throw new Error(symbols.error);
    const byName = Object.fromEntries(API.map((n) => [n, symbols.value.offsets.get(n)]));
    expect(Object.values(byName).every((o) => typeof o === 'number')).toBe(true);
    expect(found(stripped)).toEqual(byName);
    const how = withElf(stripped, (f) => { const x = findOpensslFunctions(f); return x.ok ? x.value.how : x.error; });
    expect(how).toEqual({ ok: true, value: 'by the names their errors record' });
  });

  it('refuses OpenSSL 1.1, which records its error functions as numbers', async () => {
    const ssl11 = await openSsl11();
    const exe = path.join(dir, 'ssl11');
    execFileSync('cc', ['-O2', '-static', '-s', `-I${path.join(ssl11.prefix, 'include')}`, '-o', exe, path.join(dir, 'p.c'),
      path.join(ssl11.prefix, 'lib/libssl.a'), path.join(ssl11.prefix, 'lib/libcrypto.a'), '-lpthread', '-ldl'], { stdio: ['ignore', 'ignore', 'pipe'] });
    // Its own perror("SSL_read") loads that name; nothing loads ssl_read_internal's.
    expect(found(exe)).toBe('no function loads the name ssl_read_internal (OpenSSL 1.1 records its error functions as numbers)');
  }, 900_000);

  it('refuses a program without OpenSSL', () => {
    expect(found('/bin/ls')).toMatch(/^no function-name string SSL_read, SSL_write, ssl_read_internal, ssl_write_internal/);
  });
});
