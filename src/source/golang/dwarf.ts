/**
 * Just enough DWARF (versions 2 to 5, 32- and 64-bit) to learn the layout
 * of named structs: their size and the byte offset of each member. Walks
 * every unit of .debug_info with the abbreviations of .debug_abbrev; only
 * structs whose name is asked for are decoded, every other entry is
 * skipped by its forms. Go puts all its types in one unit (runtime), C
 * compilers in many: either works.
 *
 * Malformed data is a value (`{ ok: false, error }`), never an exception.
 */

export interface DwarfSections {
  readonly info: Buffer;
  readonly abbrev: Buffer;
  /** .debug_str (DW_FORM_strp). */
  readonly str?: Buffer;
  /** .debug_line_str (DW_FORM_line_strp, DWARF 5). */
  readonly lineStr?: Buffer;
  /** .debug_str_offsets (DW_FORM_strx*, DWARF 5). */
  readonly strOffsets?: Buffer;
}

export interface StructLayout {
  readonly name: string;
  readonly byteSize: number;
  /** member name -> byte offset; embedded fields appear under their type's name (Go). */
  readonly members: ReadonlyMap<string, number>;
}

export type StructsResult = { ok: true; value: Map<string, StructLayout> } | { ok: false; error: string };

const TAG_STRUCTURE = 0x13;
const TAG_MEMBER = 0x0d;
const AT_NAME = 0x03;
const AT_BYTE_SIZE = 0x0b;
const AT_DECLARATION = 0x3c;
const AT_MEMBER_LOCATION = 0x38;
const AT_STR_OFFSETS_BASE = 0x72;
const OP_PLUS_UCONST = 0x23;
const OP_CONSTU = 0x10;
const FORM_IMPLICIT_CONST = 0x21;
const FORM_INDIRECT = 0x16;

const UT_COMPILE = 1;
const UT_TYPE = 2;
const UT_PARTIAL = 3;
const UT_SKELETON = 4;
const UT_SPLIT_COMPILE = 5;
const UT_SPLIT_TYPE = 6;

interface Abbrev {
  tag: number;
  children: boolean;
  attrs: number[];
  forms: number[];
  /** DW_FORM_implicit_const values, by attribute index. */
  consts: Map<number, bigint>;
}

class DwarfError extends Error {}

/** A cursor over one section. */
class Reader {
  readonly buf: Buffer;
  pos: number;
  constructor(buf: Buffer, pos = 0) {
    this.buf = buf;
    this.pos = pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new DwarfError(`data ends at ${this.buf.length}, needed ${n} bytes at ${this.pos}`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u24(): number {
    this.need(3);
    const v = this.buf.readUIntLE(this.pos, 3);
    this.pos += 3;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return Number(v);
  }
  uleb(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * scale;
      if (!(b & 0x80)) return result;
      scale *= 128;
    }
  }
  sleb(): bigint {
    let result = 0n;
    let shift = 0n;
    let b: number;
    do {
      b = this.u8();
      result |= BigInt(b & 0x7f) << shift;
      shift += 7n;
    } while (b & 0x80);
    if (b & 0x40) result -= 1n << shift;
    return result;
  }
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos);
    if (end < 0) throw new DwarfError(`unterminated string at ${this.pos}`);
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end + 1;
    return s;
  }
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
}

function parseAbbrevs(abbrev: Buffer, offset: number): Map<number, Abbrev> {
  const r = new Reader(abbrev, offset);
  const out = new Map<number, Abbrev>();
  for (;;) {
    const code = r.uleb();
    if (code === 0) return out;
    const tag = r.uleb();
    const children = r.u8() === 1;
    const a: Abbrev = { tag, children, attrs: [], forms: [], consts: new Map() };
    for (;;) {
      const attr = r.uleb();
      const form = r.uleb();
      if (attr === 0 && form === 0) break;
      if (form === FORM_IMPLICIT_CONST) a.consts.set(a.attrs.length, r.sleb());
      a.attrs.push(attr);
      a.forms.push(form);
    }
    out.set(code, a);
  }
}

interface Unit {
  version: number;
  addrSize: number;
  offsetSize: number;
  strOffsetsBase: number;
}

/** An attribute value as this reader needs it: a number, a string, or a block. */
type Value = number | bigint | string | Buffer | undefined;

function readForm(r: Reader, form: number, u: Unit, s: DwarfSections, implicit: bigint | undefined): Value {
  const off = () => (u.offsetSize === 8 ? r.u64() : r.u32());
  switch (form) {
    case 0x01: return u.addrSize === 8 ? r.u64() : r.u32(); // addr
    case 0x03: { const n = r.u16(); const b = r.buf.subarray(r.pos, r.pos + n); r.skip(n); return b; } // block2
    case 0x04: { const n = r.u32(); const b = r.buf.subarray(r.pos, r.pos + n); r.skip(n); return b; } // block4
    case 0x05: return r.u16(); // data2
    case 0x06: return r.u32(); // data4
    case 0x07: return r.u64(); // data8
    case 0x08: return r.cstring(); // string
    case 0x09: case 0x18: { const n = r.uleb(); const b = r.buf.subarray(r.pos, r.pos + n); r.skip(n); return b; } // block, exprloc
    case 0x0a: { const n = r.u8(); const b = r.buf.subarray(r.pos, r.pos + n); r.skip(n); return b; } // block1
    case 0x0b: case 0x0c: case 0x11: return r.u8(); // data1, flag, ref1
    case 0x0d: return r.sleb(); // sdata
    case 0x0e: return stringAt(s.str, off(), '.debug_str'); // strp
    case 0x0f: case 0x15: return r.uleb(); // udata, ref_udata
    case 0x10: return u.version <= 2 ? (u.addrSize === 8 ? r.u64() : r.u32()) : off(); // ref_addr
    case 0x12: return r.u16(); // ref2
    case 0x13: return r.u32(); // ref4
    case 0x14: case 0x20: return r.u64(); // ref8, ref_sig8
    case 0x17: case 0x1d: return off(); // sec_offset, strp_sup
    case 0x19: return 1; // flag_present
    case 0x1a: return strx(s, u, r.uleb()); // strx
    case 0x1b: case 0x22: case 0x23: return r.uleb(); // addrx, loclistx, rnglistx
    case 0x1c: return r.u32(); // ref_sup4
    case 0x1e: r.skip(16); return undefined; // data16
    case 0x1f: return stringAt(s.lineStr, off(), '.debug_line_str'); // line_strp
    case FORM_IMPLICIT_CONST: return implicit;
    case 0x24: return r.u64(); // ref_sup8
    case 0x25: return strx(s, u, r.u8()); // strx1
    case 0x26: return strx(s, u, r.u16()); // strx2
    case 0x27: return strx(s, u, r.u24()); // strx3
    case 0x28: return strx(s, u, r.u32()); // strx4
    case 0x29: return r.u8(); // addrx1
    case 0x2a: return r.u16(); // addrx2
    case 0x2b: return r.u24(); // addrx3
    case 0x2c: return r.u32(); // addrx4
    case 0x1f01: case 0x1f02: return r.uleb(); // GNU_addr_index, GNU_str_index
    case 0x1f20: case 0x1f21: return off(); // GNU_ref_alt, GNU_strp_alt
    case FORM_INDIRECT: return readForm(r, r.uleb(), u, s, implicit);
    default: throw new DwarfError(`unknown attribute form 0x${form.toString(16)}`);
  }
}

function stringAt(section: Buffer | undefined, at: number, name: string): string {
  if (!section) throw new DwarfError(`a string is in ${name}, which the file does not have`);
  const end = section.indexOf(0, at);
  if (at >= section.length || end < 0) throw new DwarfError(`string offset ${at} outside ${name}`);
  return section.toString('utf8', at, end);
}

function strx(s: DwarfSections, u: Unit, index: number): string | undefined {
  // Before the unit's DW_AT_str_offsets_base is read (the unit entry's own
  // name), the index cannot be resolved: such a string is not needed here.
  if (!s.strOffsets || !u.strOffsetsBase) return undefined;
  const at = u.strOffsetsBase + index * u.offsetSize;
  if (at + u.offsetSize > s.strOffsets.length) throw new DwarfError(`string index ${index} outside .debug_str_offsets`);
  const off = u.offsetSize === 8 ? Number(s.strOffsets.readBigUInt64LE(at)) : s.strOffsets.readUInt32LE(at);
  return stringAt(s.str, off, '.debug_str');
}

/** DW_AT_data_member_location: a constant, or (DWARF 2) DW_OP_plus_uconst N. */
function memberOffset(v: Value): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (Buffer.isBuffer(v) && v.length >= 2 && (v[0] === OP_PLUS_UCONST || v[0] === OP_CONSTU)) {
    const r = new Reader(v, 1);
    const n = r.uleb();
    return r.pos === v.length ? n : undefined;
  }
  return undefined;
}

/**
 * Layouts of the structs named in `names`, as the first complete
 * definition of each in .debug_info gives them (declarations skipped). A
 * name not found is absent from the map: the caller says what that means.
 */
export function readStructs(s: DwarfSections, names: ReadonlySet<string>): StructsResult {
  const found = new Map<string, StructLayout>();
  const abbrevCache = new Map<number, Map<number, Abbrev>>();
  try {
    const r = new Reader(s.info);
    while (r.pos < s.info.length && found.size < names.size) {
      const unitStart = r.pos;
      let length = r.u32();
      let offsetSize = 4;
      if (length === 0xffffffff) {
        length = r.u64();
        offsetSize = 8;
      } else if (length >= 0xfffffff0) {
        throw new DwarfError(`reserved unit length 0x${length.toString(16)} at ${unitStart}`);
      }
      const end = r.pos + length;
      if (end > s.info.length) throw new DwarfError(`unit at ${unitStart} runs past the section`);
      const version = r.u16();
      if (version < 2 || version > 5) throw new DwarfError(`unit at ${unitStart}: DWARF version ${version} is not read (2 to 5 are)`);
      let unitType = UT_COMPILE;
      let abbrevOffset: number;
      let addrSize: number;
      if (version >= 5) {
        unitType = r.u8();
        addrSize = r.u8();
        abbrevOffset = offsetSize === 8 ? r.u64() : r.u32();
        if (unitType === UT_SKELETON || unitType === UT_SPLIT_COMPILE) r.skip(8);
        else if (unitType === UT_TYPE || unitType === UT_SPLIT_TYPE) r.skip(8 + offsetSize);
        else if (unitType !== UT_COMPILE && unitType !== UT_PARTIAL) {
          r.pos = end; // a unit kind of a later standard: not ours to read
          continue;
        }
      } else {
        abbrevOffset = offsetSize === 8 ? r.u64() : r.u32();
        addrSize = r.u8();
      }
      let abbrevs = abbrevCache.get(abbrevOffset);
      if (!abbrevs) {
        abbrevs = parseAbbrevs(s.abbrev, abbrevOffset);
        abbrevCache.set(abbrevOffset, abbrevs);
      }
      readUnit(new Reader(s.info.subarray(0, end), r.pos), { version, addrSize, offsetSize, strOffsetsBase: 0 }, abbrevs, s, names, found);
      r.pos = end;
    }
  } catch (err) {
    if (err instanceof DwarfError) return { ok: false, error: `DWARF: ${err.message}` };
    throw err;
  }
  return { ok: true, value: found };
}

function readUnit(r: Reader, u: Unit, abbrevs: Map<number, Abbrev>, s: DwarfSections, names: ReadonlySet<string>, found: Map<string, StructLayout>): void {
  let depth = 0;
  let first = true;
  /** The struct being collected and the depth of its members. */
  let current: { name: string; byteSize: number; members: Map<string, number>; depth: number } | undefined;
  while (r.pos < r.buf.length) {
    const code = r.uleb();
    if (code === 0) {
      depth--;
      if (current && depth < current.depth) {
        if (!found.has(current.name)) found.set(current.name, { name: current.name, byteSize: current.byteSize, members: current.members });
        current = undefined;
      }
      if (depth <= 0) return;
      continue;
    }
    const a = abbrevs.get(code);
    if (!a) throw new DwarfError(`abbreviation ${code} missing at ${r.pos}`);
    const wanted = first || a.tag === TAG_STRUCTURE || (a.tag === TAG_MEMBER && current !== undefined && depth === current.depth);
    let name: string | undefined;
    let byteSize: number | undefined;
    let location: number | undefined;
    let declaration = false;
    for (let i = 0; i < a.forms.length; i++) {
      const v = readForm(r, a.forms[i]!, u, s, a.consts.get(i));
      if (!wanted) continue;
      switch (a.attrs[i]) {
        case AT_NAME: name = typeof v === 'string' ? v : undefined; break;
        case AT_BYTE_SIZE: byteSize = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined; break;
        case AT_MEMBER_LOCATION: location = memberOffset(v); break;
        case AT_DECLARATION: declaration = v !== 0; break;
        case AT_STR_OFFSETS_BASE: if (first && typeof v === 'number') u.strOffsetsBase = v; break;
      }
    }
    first = false;
    if (a.tag === TAG_MEMBER && current && depth === current.depth && name !== undefined && location !== undefined) {
      current.members.set(name, location);
    } else if (a.tag === TAG_STRUCTURE && !current && !declaration && name !== undefined && names.has(name) && !found.has(name) && a.children) {
      current = { name, byteSize: byteSize ?? 0, members: new Map(), depth: depth + 1 };
    }
    if (a.children) depth++;
    else if (depth === 0) return; // a unit entry without children
  }
}
