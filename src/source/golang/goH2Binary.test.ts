/**
 * What the Go HTTP/2 header probes learn from a binary: the echo peer
 * (grpc-go pinned by test/peers/go/go.mod) with DWARF and as PIE, where the
 * addresses must be nm's and the offsets this grpc-go's; a build without
 * DWARF, refused with the flag named; and a Go program without grpc-go,
 * about which nothing is said.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GRPC_CLIENT_READ, GRPC_SERVER_READ, GRPC_WRITE, inspectGoH2 } from './index.ts';
import { buildGoFile, goPeerBinaries, goTool, type GoPeerBinaries } from '../../../test/support/goPeers.ts';

function nmAddress(file: string, name: string): number {
  const line = execFileSync('nm', [file], { maxBuffer: 64 << 20 }).toString().split('\n').find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`nm: no ${name} in ${file}`);
  return Number.parseInt(line.split(' ')[0]!, 16);
}

describe('inspectGoH2', () => {
  let peers: GoPeerBinaries;
  let dir: string;
  beforeAll(async () => {
    peers = await goPeerBinaries();
    dir = mkdtempSync(path.join(tmpdir(), 'hp-goh2-'));
    writeFileSync(path.join(dir, 'hello.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n');
    buildGoFile(goTool()!, path.join(dir, 'hello.go'), path.join(dir, 'hello'));
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([['go', false], ['pie', true]] as const)('finds grpc-go\'s header functions, itabs and offsets in the %s build', (build, pie) => {
    const file = peers[build];
    const r = inspectGoH2(file);
    expect(r.kind).toBe('traceable');
    if (r.kind !== 'traceable') return;
    const b = r.binary;
    expect(b.pie).toBe(pie);
    expect([b.clientRead, b.serverRead, b.write].map((f) => [f.name, f.addr])).toEqual([
      [GRPC_CLIENT_READ, nmAddress(file, GRPC_CLIENT_READ)],
      [GRPC_SERVER_READ, nmAddress(file, GRPC_SERVER_READ)],
      [GRPC_WRITE, nmAddress(file, GRPC_WRITE)],
    ]);
    for (const f of [b.clientRead, b.serverRead, b.write]) expect(f.offset).toBeGreaterThan(0);
    expect(b.itabTls).toBe(nmAddress(file, 'go:itab.*crypto/tls.Conn,net.Conn'));
    expect(b.itabSyscallConn).toBe(nmAddress(file, 'go:itab.*google.golang.org/grpc/internal/credentials.syscallConn,net.Conn'));
    // grpc-go v1.85.0 and x/net v0.60.0 on amd64: http2Client.conn, http2Server.conn,
    // loopyWriter.conn, syscallConn.Conn; MetaHeadersFrame{*HeadersFrame, Fields, Truncated};
    // FrameHeader{valid, Type, Flags, Length, StreamID}; hpack.HeaderField{Name, Value, Sensitive}.
    expect(b.offsets).toEqual({
      clientConn: 128, serverConn: 16, loopyConn: 80, syscallConn: 0,
      metaFrame: 0, metaFields: 8, metaTruncated: 32, streamId: 8, frameFlags: 2,
      fieldSize: 40, fieldName: 0, fieldValue: 16, fieldSensitive: 32,
    });
  });

  it('refuses a build without DWARF, naming the flag', () => {
    expect(inspectGoH2(peers.noDwarf)).toEqual({
      kind: 'not-traceable',
      reason: 'grpc-go headers: no DWARF (linked with -w or -s): the offsets to the header fields are unknown; build without -ldflags=-w',
    });
  });

  it('says nothing of a Go program without grpc-go, and reports what is not ELF', () => {
    expect(inspectGoH2(path.join(dir, 'hello'))).toEqual({ kind: 'none' });
    expect(inspectGoH2('/nonexistent')).toMatchObject({ kind: 'not-traceable', reason: expect.stringMatching(/^not readable as ELF/) });
  });
});
