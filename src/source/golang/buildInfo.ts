/**
 * The Go version a binary was built with, from its .go.buildinfo section
 * (what `go version FILE` prints). Two layouts: since Go 1.18 the strings
 * follow the 32-byte header inline, each with a varint length; before,
 * the header holds two pointers to Go string headers elsewhere in the
 * data segments.
 */
import type { ElfFile } from '../bpf/elfFile.ts';

const MAGIC = Buffer.from('\xff Go buildinf:', 'latin1');
const FLAG_BIG_ENDIAN = 1;
const FLAG_INLINE_STRINGS = 2;

export type GoVersion = { ok: true; value: string } | { ok: false; error: string };

function varint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length && i < at + 10; i++) {
    value += (buf[i]! & 0x7f) * scale;
    if (!(buf[i]! & 0x80)) return { value, next: i + 1 };
    scale *= 128;
  }
  return undefined;
}

/** Whether the file is a Go program (or a Go shared object): it has the section. */
export function isGoBinary(elf: ElfFile): boolean {
  return elf.section('.go.buildinfo') !== undefined;
}

export function goVersion(elf: ElfFile): GoVersion {
  const section = elf.section('.go.buildinfo');
  if (!section) return { ok: false, error: 'no .go.buildinfo section (not a Go binary)' };
  const head = elf.read(section.offset, Math.min(section.size, 64 * 1024));
  if (head.length < 32 || !head.subarray(0, MAGIC.length).equals(MAGIC)) return { ok: false, error: '.go.buildinfo has no build information header' };
  const ptrSize = head[14]!;
  const flags = head[15]!;
  if (flags & FLAG_INLINE_STRINGS) {
    const len = varint(head, 32);
    if (!len || len.next + len.value > head.length) return { ok: false, error: '.go.buildinfo: version string cut short' };
    return { ok: true, value: head.toString('utf8', len.next, len.next + len.value) };
  }
  if (flags & FLAG_BIG_ENDIAN || (ptrSize !== 8 && ptrSize !== 4)) return { ok: false, error: `.go.buildinfo: ${ptrSize}-byte pointers, big-endian: not read` };
  // Before 1.18: a pointer to the version's string header (pointer, length).
  const ptr = (b: Buffer, at: number) => (ptrSize === 8 ? Number(b.readBigUInt64LE(at)) : b.readUInt32LE(at));
  const headerAt = elf.fileOffset(ptr(head, 16), false);
  if (headerAt === undefined) return { ok: false, error: '.go.buildinfo: version pointer outside the file' };
  const header = elf.read(headerAt, 2 * ptrSize);
  const bytesAt = elf.fileOffset(ptr(header, 0), false);
  const length = ptr(header, ptrSize);
  if (bytesAt === undefined || length > 1024) return { ok: false, error: '.go.buildinfo: version string outside the file' };
  return { ok: true, value: elf.read(bytesAt, length).toString('utf8') };
}

/** [major, minor] of "go1.21.5", "go1.22rc1", "devel go1.23-abc"...; undefined if unreadable. */
export function goRelease(version: string): [number, number] | undefined {
  const m = /go(\d+)\.(\d+)/.exec(version);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}
