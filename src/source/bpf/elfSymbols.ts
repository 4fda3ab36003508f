/**
 * Just enough ELF to place uprobes: the file offsets of named functions,
 * from .dynsym (exported) or .symtab (full symbol table, when not
 * stripped), and whether a binary without them still carries a TLS
 * library's version string (so a stripped one is reported, not skipped).
 * ELF64 little-endian only (x86-64, arm64); anything else is a value, not
 * an exception.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const PT_LOAD = 1;
const PF_X = 1;
const STT_FUNC = 2;
const STT_GNU_IFUNC = 10;
const SYM_SIZE = 24;
/** Tables beyond this are not read (a corrupt header must not allocate gigabytes). */
const MAX_TABLE_BYTES = 256 * 1024 * 1024;

export interface ElfFunctions {
  /** name -> file offset of its first instruction (what a uprobe takes). */
  readonly offsets: ReadonlyMap<string, number>;
  /** Names among those asked for that the binary imports (defined in a shared library). */
  readonly imported: ReadonlySet<string>;
  readonly hasDynsym: boolean;
  readonly hasSymtab: boolean;
}

export type ElfResult = { ok: true; value: ElfFunctions } | { ok: false; error: string };

interface Section {
  name: number;
  type: number;
  offset: number;
  size: number;
  link: number;
}

interface Segment {
  type: number;
  flags: number;
  offset: number;
  vaddr: number;
  memsz: number;
}

class ElfFile {
  private readonly fd: number;
  readonly size: number;

  constructor(path: string) {
    this.fd = openSync(path, 'r');
    this.size = fstatSync(this.fd).size;
  }

  read(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || length > MAX_TABLE_BYTES || offset + length > this.size) {
      throw new Error(`ELF range ${offset}+${length} outside the file (${this.size} bytes)`);
    }
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n <= 0) throw new Error('short read');
      done += n;
    }
    return buf;
  }

  close(): void {
    closeSync(this.fd);
  }
}

function cstring(table: Buffer, at: number): string {
  const end = table.indexOf(0, at);
  return table.toString('latin1', at, end < 0 ? table.length : end);
}

interface Parsed {
  sections: Section[];
  segments: Segment[];
  shstr: Buffer;
}

function parse(f: ElfFile): Parsed | string {
  if (f.size < 64) return 'not an ELF file (too short)';
  const h = f.read(0, 64);
  if (h.readUInt32BE(0) !== 0x7f454c46) return 'not an ELF file';
  if (h[4] !== 2 || h[5] !== 1) return 'not a 64-bit little-endian ELF file';
  const phoff = Number(h.readBigUInt64LE(0x20));
  const shoff = Number(h.readBigUInt64LE(0x28));
  const phentsize = h.readUInt16LE(0x36);
  const phnum = h.readUInt16LE(0x38);
  const shentsize = h.readUInt16LE(0x3a);
  const shnum = h.readUInt16LE(0x3c);
  const shstrndx = h.readUInt16LE(0x3e);
  if (shentsize < 64 || phentsize < 56) return 'unexpected ELF header sizes';
  const sh = f.read(shoff, shnum * shentsize);
  const sections: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = i * shentsize;
    sections.push({
      name: sh.readUInt32LE(at),
      type: sh.readUInt32LE(at + 4),
      offset: Number(sh.readBigUInt64LE(at + 24)),
      size: Number(sh.readBigUInt64LE(at + 32)),
      link: sh.readUInt32LE(at + 40),
    });
  }
  const ph = f.read(phoff, phnum * phentsize);
  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const at = i * phentsize;
    segments.push({
      type: ph.readUInt32LE(at),
      flags: ph.readUInt32LE(at + 4),
      offset: Number(ph.readBigUInt64LE(at + 8)),
      vaddr: Number(ph.readBigUInt64LE(at + 16)),
      memsz: Number(ph.readBigUInt64LE(at + 40)),
    });
  }
  const strSection = sections[shstrndx];
  const shstr = strSection ? f.read(strSection.offset, strSection.size) : Buffer.alloc(0);
  return { sections, segments, shstr };
}

/** The file offset of a virtual address inside an executable segment. */
function fileOffset(segments: readonly Segment[], vaddr: number): number | undefined {
  for (const s of segments) {
    if (s.type !== PT_LOAD || !(s.flags & PF_X)) continue;
    if (vaddr >= s.vaddr && vaddr < s.vaddr + s.memsz) return vaddr - s.vaddr + s.offset;
  }
  return undefined;
}

function scanTable(f: ElfFile, p: Parsed, table: Section, wanted: Set<string>, out: Map<string, number>, imported: Set<string>): void {
  const strings = p.sections[table.link];
  if (!strings) return;
  const syms = f.read(table.offset, table.size);
  const names = f.read(strings.offset, strings.size);
  for (let at = 0; at + SYM_SIZE <= syms.length; at += SYM_SIZE) {
    const type = syms[at + 4]! & 0xf;
    if (type !== STT_FUNC && type !== STT_GNU_IFUNC && type !== 0) continue;
    const name = cstring(names, syms.readUInt32LE(at));
    if (!wanted.has(name) || out.has(name)) continue;
    if (syms.readUInt16LE(at + 6) === 0) {
      imported.add(name); // undefined here: a shared library defines it
      continue;
    }
    if (type === 0) continue;
    const offset = fileOffset(p.segments, Number(syms.readBigUInt64LE(at + 8)));
    if (offset !== undefined) out.set(name, offset);
  }
}

/** File offsets of the named functions that `path` defines. */
export function findFunctions(path: string, names: readonly string[]): ElfResult {
  let f: ElfFile | undefined;
  try {
    f = new ElfFile(path);
    const p = parse(f);
    if (typeof p === 'string') return { ok: false, error: p };
    const dynsym = p.sections.find((s) => s.type === SHT_DYNSYM);
    const symtab = p.sections.find((s) => s.type === SHT_SYMTAB);
    const offsets = new Map<string, number>();
    const imported = new Set<string>();
    const wanted = new Set(names);
    if (dynsym) scanTable(f, p, dynsym, wanted, offsets, imported);
    if (symtab && offsets.size < wanted.size) scanTable(f, p, symtab, wanted, offsets, imported);
    return { ok: true, value: { offsets, imported, hasDynsym: dynsym !== undefined, hasSymtab: symtab !== undefined } };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    f?.close();
  }
}

/** Version strings a TLS library leaves in its read-only data. */
const TLS_LIBRARY_MARKS = [Buffer.from('OpenSSL 1.'), Buffer.from('OpenSSL 3.'), Buffer.from('BoringSSL')];
const MAX_RODATA_BYTES = 64 * 1024 * 1024;

/** Which TLS library's version string .rodata holds, if any (for reporting stripped binaries). */
export function tlsLibraryMark(path: string): string | undefined {
  let f: ElfFile | undefined;
  try {
    f = new ElfFile(path);
    const p = parse(f);
    if (typeof p === 'string') return undefined;
    const rodata = p.sections.find((s) => cstring(p.shstr, s.name) === '.rodata');
    if (!rodata || rodata.size > MAX_RODATA_BYTES) return undefined;
    const bytes = f.read(rodata.offset, rodata.size);
    const mark = TLS_LIBRARY_MARKS.find((m) => bytes.includes(m));
    return mark?.toString('latin1').trim();
  } catch {
    return undefined;
  } finally {
    f?.close();
  }
}
