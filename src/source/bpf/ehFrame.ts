/**
 * Where each function of an ELF file starts and ends, from its .eh_frame
 * (the call-frame information every x86-64 and arm64 binary keeps for
 * unwinding, stripped or not). A stripped binary has no symbol to say
 * where a function begins; its FDEs still do, which is what lets a uprobe
 * be placed on a function found by what its code does
 * (boringsslFunctions.ts).
 *
 * Only what that needs: each FDE's initial location and range. The CIE's
 * 'R' augmentation gives their encoding; the DWARF pointer encodings that
 * linkers write are read, anything else is refused with its name.
 */
import type { ElfFile } from './elfFile.ts';

export interface FunctionRange {
  /** Virtual address of the first instruction. */
  readonly start: number;
  /** One past the last byte. */
  readonly end: number;
}

export interface FunctionRanges {
  readonly count: number;
  /** The function whose bytes hold `vaddr`, if an FDE covers it. */
  containing(vaddr: number): FunctionRange | undefined;
}

export type FunctionRangesResult = { ok: true; value: FunctionRanges } | { ok: false; error: string };

// DW_EH_PE_*: the low nibble is the format, the high one what it is relative to.
const PE_OMIT = 0xff;
const PE_ABSPTR = 0x00;
const PE_ULEB128 = 0x01;
const PE_UDATA2 = 0x02;
const PE_UDATA4 = 0x03;
const PE_UDATA8 = 0x04;
const PE_SLEB128 = 0x09;
const PE_SDATA2 = 0x0a;
const PE_SDATA4 = 0x0b;
const PE_SDATA8 = 0x0c;
const PE_PCREL = 0x10;
const PE_INDIRECT = 0x80;

/** A cursor over .eh_frame, addresses being the section's virtual address plus the position. */
class Reader {
  readonly bytes: Buffer;
  readonly vaddr: number;
  at: number;

  constructor(bytes: Buffer, vaddr: number, at = 0) {
    this.bytes = bytes;
    this.vaddr = vaddr;
    this.at = at;
  }

  u8(): number {
    return this.bytes.readUInt8(this.at++);
  }

  u32(): number {
    const v = this.bytes.readUInt32LE(this.at);
    this.at += 4;
    return v;
  }

  uleb(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      if (!(b & 0x80)) return v;
      scale *= 128;
      if (scale > 2 ** 56) throw new Error('.eh_frame: LEB128 number too long');
    }
  }

  sleb(): number {
    let v = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * scale;
      scale *= 128;
      if (!(b & 0x80)) return b & 0x40 ? v - scale : v;
      if (scale > 2 ** 56) throw new Error('.eh_frame: LEB128 number too long');
    }
  }

  cstring(): string {
    const end = this.bytes.indexOf(0, this.at);
    if (end < 0) throw new Error('.eh_frame: unterminated augmentation string');
    const s = this.bytes.toString('latin1', this.at, end);
    this.at = end + 1;
    return s;
  }

  /** A pointer in `encoding`; `relative` false reads the format only (an FDE's range). */
  pointer(encoding: number, relative = true): number {
    const here = this.vaddr + this.at;
    let v: number;
    switch (encoding & 0x0f) {
      case PE_ABSPTR:
      case PE_UDATA8: v = Number(this.bytes.readBigUInt64LE(this.at)); this.at += 8; break;
      case PE_SDATA8: v = Number(this.bytes.readBigInt64LE(this.at)); this.at += 8; break;
      case PE_UDATA4: v = this.bytes.readUInt32LE(this.at); this.at += 4; break;
      case PE_SDATA4: v = this.bytes.readInt32LE(this.at); this.at += 4; break;
      case PE_UDATA2: v = this.bytes.readUInt16LE(this.at); this.at += 2; break;
      case PE_SDATA2: v = this.bytes.readInt16LE(this.at); this.at += 2; break;
      case PE_ULEB128: v = this.uleb(); break;
      case PE_SLEB128: v = this.sleb(); break;
      default: throw new Error(`.eh_frame: pointer encoding 0x${encoding.toString(16)} is not read here`);
    }
    if (!relative) return v;
    if (encoding & PE_INDIRECT) throw new Error('.eh_frame: indirect FDE addresses are not read here');
    switch (encoding & 0x70) {
      case 0: return v;
      case PE_PCREL: return here + v;
      default: throw new Error(`.eh_frame: FDE addresses relative by 0x${(encoding & 0x70).toString(16)} are not read here`);
    }
  }
}

/** The FDE pointer encoding a CIE's augmentation names ('R'); absptr when it names none. */
function cieEncoding(r: Reader, end: number): number {
  const version = r.u8();
  const augmentation = r.cstring();
  if (augmentation.includes('eh')) throw new Error(`.eh_frame: CIE augmentation '${augmentation}' (GCC 2 'eh' data) is not read here`);
  r.uleb(); // code alignment
  r.sleb(); // data alignment
  if (version === 1) r.u8();
  else r.uleb(); // return address register
  if (!augmentation.startsWith('z')) return PE_ABSPTR;
  r.uleb(); // augmentation data length
  for (const c of augmentation.slice(1)) {
    if (r.at > end) break;
    if (c === 'R') return r.u8();
    if (c === 'L') r.u8();
    else if (c === 'P') r.pointer(r.u8(), false);
    else if (c !== 'S' && c !== 'B' && c !== 'G') throw new Error(`.eh_frame: CIE augmentation '${augmentation}' is not read here`);
  }
  return PE_ABSPTR;
}

/** Every FDE's range, in address order. */
export function functionRanges(f: ElfFile): FunctionRangesResult {
  const section = f.section('.eh_frame');
  if (!section) return { ok: false, error: 'no .eh_frame section' };
  try {
    const r = new Reader(f.read(section.offset, section.size), section.addr);
    const encodings = new Map<number, number>();
    const ranges: FunctionRange[] = [];
    while (r.at + 4 <= r.bytes.length) {
      const at = r.at;
      const length = r.u32();
      if (length === 0) break; // the terminator
      if (length === 0xffffffff) throw new Error('.eh_frame: 64-bit DWARF entries are not read here');
      const end = r.at + length;
      if (end > r.bytes.length) throw new Error(`.eh_frame: entry at +0x${at.toString(16)} runs past the section`);
      const idAt = r.at;
      const id = r.u32();
      if (id === 0) {
        encodings.set(at, cieEncoding(r, end));
      } else {
        const cie = idAt - id;
        let encoding = encodings.get(cie);
        if (encoding === undefined) {
          // A CIE after its FDE (legal, rare): read it where it is.
          const c = new Reader(r.bytes, r.vaddr, cie + 8);
          encoding = cieEncoding(c, cie + 4 + r.bytes.readUInt32LE(cie));
          encodings.set(cie, encoding);
        }
        const start = r.pointer(encoding);
        const size = r.pointer(encoding & 0x0f, false);
        if (size > 0 && encoding !== PE_OMIT) ranges.push({ start, end: start + size });
      }
      r.at = end;
    }
    ranges.sort((a, b) => a.start - b.start);
    return { ok: true, value: { count: ranges.length, containing: (vaddr) => rangeHolding(ranges, vaddr) } };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

function rangeHolding(ranges: readonly FunctionRange[], vaddr: number): FunctionRange | undefined {
  let lo = 0;
  let hi = ranges.length - 1;
  let found: FunctionRange | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]!.start <= vaddr) {
      found = ranges[mid];
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found && vaddr < found.end ? found : undefined;
}
