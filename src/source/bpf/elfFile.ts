/**
 * An ELF64 little-endian file (x86-64, arm64) read on demand: header,
 * sections by name (compressed debug sections inflated), symbol tables,
 * program headers and the mapping of virtual addresses to file offsets.
 * What uprobe placement needs (elfSymbols.ts, src/source/golang/), nothing
 * more. A file that is not such an ELF file is a value, not an exception.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { inflateSync } from 'node:zlib';

export const ET_EXEC = 2;
export const ET_DYN = 3;
export const EM_X86_64 = 62;
export const EM_AARCH64 = 183;
export const SHT_NOBITS = 8;
const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHF_COMPRESSED = 0x800;
const ELFCOMPRESS_ZLIB = 1;
const PT_LOAD = 1;
const PF_X = 1;
export const STT_FUNC = 2;
export const STT_GNU_IFUNC = 10;
const SYM_SIZE = 24;
/** Reads beyond this are refused (a corrupt header must not allocate gigabytes). */
const MAX_READ_BYTES = 256 * 1024 * 1024;

export interface ElfSection {
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
}

export interface ElfSegment {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
}

export interface ElfSymbol {
  readonly name: string;
  /** Virtual address (link time). */
  readonly value: number;
  readonly size: number;
  /** STT_* */
  readonly type: number;
  /** 0: undefined here (imported from a shared library). */
  readonly shndx: number;
}

export type ElfOpen = { ok: true; value: ElfFile } | { ok: false; error: string };

function cstring(table: Buffer, at: number): string {
  const end = table.indexOf(0, at);
  return table.toString('latin1', at, end < 0 ? table.length : end);
}

export class ElfFile {
  readonly size: number;
  /** ET_EXEC (fixed addresses) or ET_DYN (shared object, PIE: moved by a load base). */
  readonly type: number;
  readonly machine: number;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];
  private readonly fd: number;

  /** Opens and parses the headers; closes the file again on failure. */
  static open(path: string): ElfOpen {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      return { ok: false, error: (err as Error).message };
    }
    try {
      return { ok: true, value: new ElfFile(fd) };
    } catch (err) {
      closeSync(fd);
      return { ok: false, error: (err as Error).message };
    }
  }

  private constructor(fd: number) {
    this.fd = fd;
    this.size = fstatSync(fd).size;
    if (this.size < 64) throw new Error('not an ELF file (too short)');
    const h = this.read(0, 64);
    if (h.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
    if (h[4] !== 2 || h[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
    this.type = h.readUInt16LE(0x10);
    this.machine = h.readUInt16LE(0x12);
    const phoff = Number(h.readBigUInt64LE(0x20));
    const shoff = Number(h.readBigUInt64LE(0x28));
    const phentsize = h.readUInt16LE(0x36);
    const phnum = h.readUInt16LE(0x38);
    const shentsize = h.readUInt16LE(0x3a);
    const shnum = h.readUInt16LE(0x3c);
    const shstrndx = h.readUInt16LE(0x3e);
    if (shentsize < 64 || phentsize < 56) throw new Error('unexpected ELF header sizes');
    const sh = this.read(shoff, shnum * shentsize);
    const raw = [];
    for (let i = 0; i < shnum; i++) {
      const at = i * shentsize;
      raw.push({
        nameAt: sh.readUInt32LE(at),
        type: sh.readUInt32LE(at + 4),
        flags: Number(sh.readBigUInt64LE(at + 8)),
        addr: Number(sh.readBigUInt64LE(at + 16)),
        offset: Number(sh.readBigUInt64LE(at + 24)),
        size: Number(sh.readBigUInt64LE(at + 32)),
        link: sh.readUInt32LE(at + 40),
      });
    }
    const strs = raw[shstrndx];
    const shstr = strs ? this.read(strs.offset, strs.size) : Buffer.alloc(0);
    this.sections = raw.map(({ nameAt, ...s }) => ({ name: cstring(shstr, nameAt), ...s }));
    const ph = this.read(phoff, phnum * phentsize);
    const segments: ElfSegment[] = [];
    for (let i = 0; i < phnum; i++) {
      const at = i * phentsize;
      segments.push({
        type: ph.readUInt32LE(at),
        flags: ph.readUInt32LE(at + 4),
        offset: Number(ph.readBigUInt64LE(at + 8)),
        vaddr: Number(ph.readBigUInt64LE(at + 16)),
        filesz: Number(ph.readBigUInt64LE(at + 32)),
        memsz: Number(ph.readBigUInt64LE(at + 40)),
      });
    }
    this.segments = segments;
  }

  read(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || length > MAX_READ_BYTES || offset + length > this.size) {
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

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /**
   * A section's contents, inflated when compressed: SHF_COMPRESSED with a
   * zlib Elf64_Chdr (what current linkers, Go's included, write), or the
   * older GNU `.zdebug_*` form ("ZLIB" and a big-endian size) that Go
   * before 1.12 wrote; `name` finds either spelling.
   */
  sectionData(name: string): Buffer | undefined {
    const plain = this.section(name);
    const gnu = plain ? undefined : this.section(name.replace(/^\.debug_/, '.zdebug_'));
    const s = plain ?? gnu;
    if (!s || s.type === SHT_NOBITS) return undefined;
    const bytes = this.read(s.offset, s.size);
    if (s.flags & SHF_COMPRESSED) {
      if (bytes.length < 24) throw new Error(`${s.name}: compression header cut short`);
      const kind = bytes.readUInt32LE(0);
      if (kind !== ELFCOMPRESS_ZLIB) throw new Error(`${s.name}: compressed with type ${kind}, only zlib (1) is read`);
      return this.inflate(s.name, bytes.subarray(24), Number(bytes.readBigUInt64LE(8)));
    }
    if (gnu) {
      if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'ZLIB') throw new Error(`${s.name}: no ZLIB header`);
      return this.inflate(s.name, bytes.subarray(12), Number(bytes.readBigUInt64BE(4)));
    }
    return bytes;
  }

  private inflate(name: string, data: Buffer, size: number): Buffer {
    if (size > MAX_READ_BYTES) throw new Error(`${name}: ${size} bytes inflated is more than this reader takes`);
    const out = inflateSync(data, { maxOutputLength: Math.max(size, 1) });
    if (out.length !== size) throw new Error(`${name}: inflated to ${out.length} bytes, header says ${size}`);
    return out;
  }

  hasSymbolTable(kind: 'symtab' | 'dynsym'): boolean {
    const type = kind === 'symtab' ? SHT_SYMTAB : SHT_DYNSYM;
    return this.sections.some((s) => s.type === type);
  }

  /**
   * Calls `visit` for each symbol of .symtab or .dynsym whose name passes
   * `wanted` (names are decoded only for those: Go binaries have tens of
   * thousands). Stops early when visit returns false.
   */
  symbols(kind: 'symtab' | 'dynsym', wanted: (name: string) => boolean, visit: (sym: ElfSymbol) => boolean | void): void {
    const type = kind === 'symtab' ? SHT_SYMTAB : SHT_DYNSYM;
    const table = this.sections.find((s) => s.type === type);
    const strings = table ? this.sections[table.link] : undefined;
    if (!table || !strings) return;
    const syms = this.read(table.offset, table.size);
    const names = this.read(strings.offset, strings.size);
    for (let at = 0; at + SYM_SIZE <= syms.length; at += SYM_SIZE) {
      const name = cstring(names, syms.readUInt32LE(at));
      if (!wanted(name)) continue;
      const more = visit({
        name,
        type: syms[at + 4]! & 0xf,
        shndx: syms.readUInt16LE(at + 6),
        value: Number(syms.readBigUInt64LE(at + 8)),
        size: Number(syms.readBigUInt64LE(at + 16)),
      });
      if (more === false) return;
    }
  }

  /** The file offset of a virtual address inside a loaded segment (executable ones only, by default). */
  fileOffset(vaddr: number, executableOnly = true): number | undefined {
    for (const s of this.segments) {
      if (s.type !== PT_LOAD || (executableOnly && !(s.flags & PF_X))) continue;
      if (vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz) return vaddr - s.vaddr + s.offset;
    }
    return undefined;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Runs `use` on the opened file and closes it; an open or read failure is a value. */
export function withElf<T>(path: string, use: (f: ElfFile) => T): { ok: true; value: T } | { ok: false; error: string } {
  const opened = ElfFile.open(path);
  if (!opened.ok) return opened;
  try {
    return { ok: true, value: use(opened.value) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    opened.value.close();
  }
}
