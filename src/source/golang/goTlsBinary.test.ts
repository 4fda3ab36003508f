/**
 * What the Go TLS probes learn from a binary, and every reason one is
 * refused: the Go peer with DWARF (traceable: offsets, itabs, returns), as
 * PIE (addresses to be moved by the load base), without DWARF (-w), and two
 * small programs built here: one without crypto/tls, one stripped (-s).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GO_TLS_READ, GO_TLS_WRITE, inspectGoTls } from './index.ts';
import { buildGoFile, goPeerBinaries, goTool, type GoPeerBinaries } from '../../../test/support/goPeers.ts';

/** Addresses of a symbol from nm: the oracle for the ELF reading. */
function nmAddress(file: string, name: string): number {
  const line = execFileSync('nm', [file], { maxBuffer: 64 << 20 }).toString().split('\n').find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`nm: no ${name} in ${file}`);
  return Number.parseInt(line.split(' ')[0]!, 16);
}

describe('inspectGoTls', () => {
  let peers: GoPeerBinaries;
  let dir: string;
  beforeAll(async () => {
    peers = await goPeerBinaries();
    dir = mkdtempSync(path.join(tmpdir(), 'hp-gotls-'));
    writeFileSync(path.join(dir, 'hello.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n');
    writeFileSync(path.join(dir, 'tls.go'), 'package main\n\nimport ("crypto/tls"; "fmt")\n\nfunc main() { c, err := tls.Dial("tcp", "127.0.0.1:1", nil); fmt.Println(c, err) }\n');
    const go = goTool()!;
    buildGoFile(go, path.join(dir, 'hello.go'), path.join(dir, 'hello'));
    buildGoFile(go, path.join(dir, 'tls.go'), path.join(dir, 'stripped'), '-s -w');
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([['go', false], ['pie', true]] as const)('finds everything in the %s build', (build, pie) => {
    const file = peers[build];
    const r = inspectGoTls(file);
    expect(r.kind).toBe('traceable');
    if (r.kind !== 'traceable') return;
    const b = r.binary;
    expect(b.goVersion).toMatch(/^go1\.\d+/);
    expect(b.pie).toBe(pie);
    expect(b.read.name).toBe(GO_TLS_READ);
    expect(b.write.name).toBe(GO_TLS_WRITE);
    expect(b.read.addr).toBe(nmAddress(file, GO_TLS_READ));
    expect(b.write.addr).toBe(nmAddress(file, GO_TLS_WRITE));
    expect(b.itabTcp).toBe(nmAddress(file, 'go:itab.*net.TCPConn,net.Conn'));
    expect(b.itabUnix).toBe(nmAddress(file, 'go:itab.*net.UnixConn,net.Conn'));
    // The layout of this Go version (readelf agrees: dwarf.test.ts).
    expect(b.offsets).toEqual({ conn: 0, fd: 0, sysfd: 16 });
    expect(b.readSpills).toBe(true);
    for (const fn of [b.read, b.write]) {
      expect(fn.returns.length).toBeGreaterThan(1);
      expect(fn.returns.every((at) => at > fn.offset)).toBe(true);
    }
  });

  it('refuses a build without DWARF, naming the flag', () => {
    expect(inspectGoTls(peers.noDwarf)).toEqual({
      kind: 'not-traceable',
      goVersion: expect.stringMatching(/^go1\./),
      reason: 'no DWARF (linked with -w or -s): the offsets from tls.Conn to its socket are unknown; build without -ldflags=-w to trace it',
    });
  });

  it('refuses a program without crypto/tls, and a stripped one', () => {
    expect(inspectGoTls(path.join(dir, 'hello'))).toMatchObject({ kind: 'not-traceable', reason: 'does not use crypto/tls (no crypto/tls.(*Conn).Read/Write in its symbols)' });
    expect(inspectGoTls(path.join(dir, 'stripped'))).toMatchObject({ kind: 'not-traceable', reason: 'no symbol table (linked with -s): crypto/tls cannot be found' });
  });

  it('says nothing of what is not Go', () => {
    expect(inspectGoTls('/usr/bin/ls')).toEqual({ kind: 'not-go' });
    expect(inspectGoTls('/etc/hostname')).toEqual({ kind: 'not-go' });
    expect(inspectGoTls('/nonexistent')).toEqual({ kind: 'not-go' });
  });
});
