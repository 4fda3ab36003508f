/**
 * pcapng files: a sequence of blocks (type, total length, body, total
 * length again). Each Section Header Block sets the byte order and starts
 * a new list of interfaces; Interface Description Blocks give each
 * interface its link type, snaplen and timestamp resolution; packets come
 * in Enhanced, Simple and (obsolete) Packet Blocks. Other blocks are
 * skipped by their length.
 */
import { CaptureError } from './captureError.ts';
import { PCAPNG_DEFAULT_TSRESOL, pcapngClock, type CaptureClock } from './clock.ts';
import { MAX_RECORD, type ChunkReader } from './chunkReader.ts';
import { END, NEED_MORE, NO_PACKET, PACKET, type CaptureFormat, type PacketRecord } from './packetRecord.ts';

export const SHB_TYPE = 0x0a0d0d0a;
const BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const IDB = 1;
const OPB = 2;
const SPB = 3;
const EPB = 6;
const OPT_END = 0;
const IF_TSRESOL = 9;
const IF_TSOFFSET = 14;

interface Interface {
  readonly linkType: number;
  readonly snaplen: number;
  readonly clock: CaptureClock;
}

export class PcapngFormat implements CaptureFormat {
  readonly name = 'pcapng';
  need = 0;
  /** Byte order of the current section. */
  private le = true;
  private interfaces: Interface[] = [];
  private sections = 0;
  private readonly file: string;
  /** Simple Packet Blocks have no timestamp: they get the previous packet's. */
  private lastA = 0;
  private lastB = 0;

  constructor(file: string) {
    this.file = file;
  }

  get interfaceCount(): number {
    return this.interfaces.length;
  }

  next(r: ChunkReader, rec: PacketRecord): number {
    if (r.available < 12) return this.short(r, 12, 'block header');
    const v = r.view;
    const p = r.start;
    const type = v.getUint32(p, this.le);
    if (type === SHB_TYPE) {
      const bom = v.getUint32(p + 8, true);
      if (bom === BYTE_ORDER_MAGIC) this.le = true;
      else if (bom === 0x4d3c2b1a) this.le = false;
      else throw this.error(r, `section header has no byte-order magic (0x${bom.toString(16)}); the file is corrupt`);
    } else if (this.sections === 0) {
      throw this.error(r, 'not a pcapng file: it does not begin with a section header block');
    }
    const len = v.getUint32(p + 4, this.le);
    if (len < 12 || len % 4 !== 0 || len > MAX_RECORD) {
      throw this.error(r, `block length ${len} is invalid (a multiple of 4 from 12 to ${MAX_RECORD} expected); the file is corrupt or truncated`);
    }
    if (r.available < len) return this.short(r, len, `${len}-byte block`);
    const trailer = v.getUint32(p + len - 4, this.le);
    if (trailer !== len) {
      throw this.error(r, `block length ${len} does not match its trailing copy ${trailer}; the file is corrupt`);
    }
    let result = NO_PACKET;
    switch (type) {
      case SHB_TYPE:
        this.section(r, len);
        break;
      case IDB:
        this.interfaceBlock(r, len);
        break;
      case EPB:
      case OPB: {
        const id = type === EPB ? v.getUint32(p + 8, this.le) : v.getUint16(p + 8, this.le);
        const capLen = v.getUint32(p + 20, this.le);
        if (28 + capLen + 4 > len) throw this.error(r, `packet length ${capLen} exceeds its ${len}-byte block; the file is corrupt`);
        this.packet(r, rec, id, p + 28, capLen, v.getUint32(p + 24, this.le), v.getUint32(p + 12, this.le), v.getUint32(p + 16, this.le));
        result = PACKET;
        break;
      }
      case SPB: {
        const origLen = v.getUint32(p + 8, this.le);
        const first = this.interfaces[0];
        const room = len - 16;
        let capLen = Math.min(origLen, room);
        if (first && first.snaplen > 0) capLen = Math.min(capLen, first.snaplen);
        this.packet(r, rec, 0, p + 12, capLen, origLen, this.lastA, this.lastB);
        result = PACKET;
        break;
      }
      default:
        break; // name resolution, statistics, custom, decryption secrets...: not needed
    }
    r.start += len;
    return result;
  }

  private packet(r: ChunkReader, rec: PacketRecord, id: number, at: number, capLen: number, origLen: number, a: number, b: number): void {
    const itf = this.interfaces[id];
    if (!itf) throw this.error(r, `packet on interface ${id}, but this section describes ${this.interfaces.length}; the file is corrupt`);
    rec.linkType = itf.linkType;
    rec.data = r.buf;
    rec.view = r.view;
    rec.offset = at;
    rec.capLen = capLen;
    rec.origLen = Math.max(origLen, capLen);
    rec.tsA = this.lastA = a;
    rec.tsB = this.lastB = b;
    rec.clock = itf.clock;
    rec.fileOffset = r.offset;
  }

  private section(r: ChunkReader, len: number): void {
    if (len < 28) throw this.error(r, `section header block of ${len} bytes is too short (28 at least)`);
    const major = r.view.getUint16(r.start + 12, this.le);
    if (major !== 1) throw this.error(r, `pcapng version ${major} is not supported (expected 1.0)`);
    this.sections++;
    this.interfaces = [];
  }

  private interfaceBlock(r: ChunkReader, len: number): void {
    if (len < 20) throw this.error(r, `interface description block of ${len} bytes is too short (20 at least)`);
    const v = r.view;
    const p = r.start;
    const linkType = v.getUint16(p + 8, this.le);
    const snaplen = v.getUint32(p + 12, this.le);
    let tsresol = PCAPNG_DEFAULT_TSRESOL;
    let offset = 0n;
    const end = p + len - 4;
    for (let o = p + 16; o + 4 <= end; ) {
      const code = v.getUint16(o, this.le);
      const olen = v.getUint16(o + 2, this.le);
      if (code === OPT_END) break;
      if (o + 4 + olen > end) break; // a damaged option list: keep the defaults
      if (code === IF_TSRESOL && olen >= 1) tsresol = r.buf[o + 4]!;
      else if (code === IF_TSOFFSET && olen >= 8) offset = v.getBigInt64(o + 4, this.le);
      o += 4 + ((olen + 3) & ~3);
    }
    if ((tsresol & 0x7f) > 63) throw this.error(r, `interface timestamp resolution 0x${tsresol.toString(16)} is not a valid if_tsresol`);
    this.interfaces.push({ linkType, snaplen, clock: pcapngClock(tsresol, offset) });
  }

  private short(r: ChunkReader, n: number, what: string): number {
    if (!r.eof) {
      this.need = n;
      return NEED_MORE;
    }
    if (r.available === 0) return END;
    throw this.error(r, `${what} cut short: the file ends after ${r.available} of its ${n} bytes; the file is truncated`);
  }

  private error(r: ChunkReader, problem: string): CaptureError {
    return new CaptureError(this.file, r.offset, problem);
  }
}
