/**
 * What the net/http HTTP/2 header probes learn from a binary: the echo
 * peer (net/http server and client, the Go toolchain pinned by
 * test/peers/go/go.mod) with DWARF and as PIE, where the addresses must be
 * nm's and the offsets this Go's; a server-only program, whose client
 * code the linker dropped (the server side alone is traced); a build
 * without DWARF, refused with the flag named; and a Go program without
 * net/http, about which nothing is said.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  inspectNetHttpH2, NETHTTP_CLIENT_READ, NETHTTP_CLIENT_START, NETHTTP_CLIENT_TRAILERS_START, NETHTTP_CLIENT_WRITE,
  NETHTTP_FIELD, NETHTTP_SERVER_READ, NETHTTP_SERVER_START, NETHTTP_SERVER_WRITE,
} from './index.ts';
import { buildGoFile, goPeerBinaries, goTool, type GoPeerBinaries } from '../../../test/support/goPeers.ts';

function nmAddress(file: string, name: string): number {
  const line = execFileSync('nm', [file], { maxBuffer: 64 << 20 }).toString().split('\n').find((l) => l.endsWith(` ${name}`));
  if (!line) throw new Error(`nm: no ${name} in ${file}`);
  return Number.parseInt(line.split(' ')[0]!, 16);
}

const at = (file: string, name: string) => [name, nmAddress(file, name)];
const named = (f: { name: string; addr: number }) => [f.name, f.addr];

describe('inspectNetHttpH2', () => {
  let peers: GoPeerBinaries;
  let dir: string;
  beforeAll(async () => {
    peers = await goPeerBinaries();
    dir = mkdtempSync(path.join(tmpdir(), 'hp-nethttp-h2-'));
    writeFileSync(path.join(dir, 'hello.go'), 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("hello") }\n');
    writeFileSync(path.join(dir, 'serve.go'), 'package main\n\nimport "net/http"\n\nfunc main() { _ = http.ListenAndServeTLS("127.0.0.1:0", "c", "k", nil) }\n');
    buildGoFile(goTool()!, path.join(dir, 'hello.go'), path.join(dir, 'hello'));
    buildGoFile(goTool()!, path.join(dir, 'serve.go'), path.join(dir, 'serve'));
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([['go', false], ['pie', true]] as const)('finds both sides\' functions, the itabs and the bundle\'s offsets in the %s build', (build, pie) => {
    const file = peers[build];
    const r = inspectNetHttpH2(file);
    expect(r.kind).toBe('traceable');
    if (r.kind !== 'traceable') return;
    const b = r.binary;
    expect(b.pie).toBe(pie);
    expect(b.untraced).toBeUndefined();
    expect(named(b.field)).toEqual(at(file, NETHTTP_FIELD));
    expect([b.server!.read, b.server!.start, b.server!.write].map(named)).toEqual(
      [NETHTTP_SERVER_READ, NETHTTP_SERVER_START, NETHTTP_SERVER_WRITE].map((n) => at(file, n)));
    expect([b.client!.read, ...b.client!.starts, b.client!.write].map(named)).toEqual(
      [NETHTTP_CLIENT_READ, NETHTTP_CLIENT_START, NETHTTP_CLIENT_TRAILERS_START, NETHTTP_CLIENT_WRITE].map((n) => at(file, n)));
    for (const f of [b.field, b.server!.read, b.server!.start, b.server!.write, b.client!.read, ...b.client!.starts, b.client!.write]) {
      expect(f.offset).toBeGreaterThan(0);
    }
    expect(b.itabTls).toBe(nmAddress(file, 'go:itab.*crypto/tls.Conn,net.Conn'));
    expect(b.server!.itabServerCtx).toBe(nmAddress(file, 'go:itab.*net/http.http2serverConn,net/http.http2writeContext'));
    // Go 1.26 on amd64: http2serverConn.conn after srv, hs; http2clientConnReadLoop{cc};
    // http2ClientConn.tconn after t; http2writeResHeaders{streamID ... endStream};
    // http2MetaHeadersFrame{*http2HeadersFrame, Fields, Truncated}; FrameHeader{valid, Type,
    // Flags, Length, StreamID}; vendored hpack.HeaderField{Name, Value, Sensitive}.
    expect(b.offsets).toEqual({
      serverConn: 16, readLoopCc: 0, clientConn: 8, resStreamId: 0, resEndStream: 48,
      metaFrame: 0, metaFields: 8, metaTruncated: 32, streamId: 8, frameFlags: 2,
      fieldSize: 40, fieldName: 0, fieldValue: 16, fieldSensitive: 32,
    });
  });

  it('traces the server side alone in a program whose client code the linker dropped', () => {
    const file = path.join(dir, 'serve');
    const r = inspectNetHttpH2(file);
    expect(r.kind).toBe('traceable');
    if (r.kind !== 'traceable') return;
    expect(r.binary.client).toBeUndefined();
    expect(r.binary.untraced).toBeUndefined();
    expect(named(r.binary.server!.write)).toEqual(at(file, NETHTTP_SERVER_WRITE));
    expect(r.binary.offsets).toMatchObject({ serverConn: 16, readLoopCc: 0, clientConn: 0, resEndStream: 48 });
  });

  it('refuses a build without DWARF, naming the flag', () => {
    expect(inspectNetHttpH2(peers.noDwarf)).toEqual({
      kind: 'not-traceable',
      reason: 'net/http HTTP/2 headers: no DWARF (linked with -w or -s): the offsets to the header fields are unknown; build without -ldflags=-w',
    });
  });

  it('says nothing of a Go program without net/http, and reports what is not ELF', () => {
    expect(inspectNetHttpH2(path.join(dir, 'hello'))).toEqual({ kind: 'none' });
    expect(inspectNetHttpH2('/nonexistent')).toMatchObject({ kind: 'not-traceable', reason: expect.stringMatching(/^not readable as ELF/) });
  });
});
