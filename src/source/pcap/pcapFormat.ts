/**
 * Classic libpcap files: a 24-byte global header, then records of a 16-byte
 * header and the packet. Either byte order; micro- or nanosecond magic;
 * also the "modified" (Kuznetzov) variant with 24-byte record headers.
 */
import { CaptureError } from './captureError.ts';
import { pcapClock, type CaptureClock } from './clock.ts';
import { MAX_RECORD, type ChunkReader } from './chunkReader.ts';
import { END, NEED_MORE, PACKET, type CaptureFormat, type PacketRecord } from './packetRecord.ts';

export const PCAP_GLOBAL_HEADER = 24;
/** Records longer than this are accepted even above a file's snaplen (as libpcap does). */
const MAX_STANDARD_PACKET = 262144;

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const MAGIC_MODIFIED = 0xa1b2cd34;

/** The pcap magic at the start of a file: its byte order and resolution; undefined if it is not one. */
export function pcapMagic(first4: Uint8Array): { le: boolean; ns: boolean; modified: boolean } | undefined {
  if (first4.length < 4) return undefined;
  const be = ((first4[0]! << 24) | (first4[1]! << 16) | (first4[2]! << 8) | first4[3]!) >>> 0;
  const le = ((first4[3]! << 24) | (first4[2]! << 16) | (first4[1]! << 8) | first4[0]!) >>> 0;
  for (const [value, isLe] of [[be, false], [le, true]] as const) {
    if (value === MAGIC_US || value === MAGIC_NS || value === MAGIC_MODIFIED) {
      return { le: isLe, ns: value === MAGIC_NS, modified: value === MAGIC_MODIFIED };
    }
  }
  return undefined;
}

export class PcapFormat implements CaptureFormat {
  readonly name = 'pcap';
  need = 0;
  readonly snaplen: number;
  readonly linkType: number;
  private readonly le: boolean;
  private readonly recordHeader: number;
  private readonly limit: number;
  private readonly clock: CaptureClock;
  private readonly file: string;

  /** Reads the global header; the reader must hold its 24 bytes at `start`. */
  constructor(file: string, r: ChunkReader) {
    this.file = file;
    const magic = pcapMagic(r.buf.subarray(r.start, r.start + 4));
    if (!magic) throw new CaptureError(file, 0, 'not a pcap file');
    if (r.available < PCAP_GLOBAL_HEADER) throw new CaptureError(file, 0, `pcap global header cut short: the file has ${r.available} of its 24 bytes`);
    this.le = magic.le;
    this.recordHeader = magic.modified ? 24 : 16;
    const v = r.view;
    const p = r.start;
    const major = v.getUint16(p + 4, this.le);
    if (major !== 2) throw new CaptureError(file, 4, `pcap version ${major}.${v.getUint16(p + 6, this.le)} is not supported (expected 2.4)`);
    this.snaplen = v.getUint32(p + 16, this.le);
    // Upper bits carry FCS information, not the link type.
    this.linkType = v.getUint32(p + 20, this.le) & 0x03ffffff;
    this.limit = Math.min(Math.max(this.snaplen, MAX_STANDARD_PACKET), MAX_RECORD);
    this.clock = pcapClock(magic.ns);
    r.start += PCAP_GLOBAL_HEADER;
  }

  next(r: ChunkReader, rec: PacketRecord): number {
    const h = this.recordHeader;
    if (r.available < h) return this.short(r, h, 'record header');
    const v = r.view;
    const p = r.start;
    const capLen = v.getUint32(p + 8, this.le);
    if (capLen > this.limit) {
      const limit = this.snaplen > MAX_RECORD ? `the ${MAX_RECORD}-byte limit of a record` : `snaplen ${this.snaplen}`;
      throw new CaptureError(this.file, r.offset, `record length ${capLen} exceeds ${limit}; the file is corrupt or truncated`);
    }
    const total = h + capLen;
    if (r.available < total) return this.short(r, total, `${capLen}-byte packet record`);
    rec.linkType = this.linkType;
    rec.data = r.buf;
    rec.view = v;
    rec.offset = p + h;
    rec.capLen = capLen;
    rec.origLen = Math.max(v.getUint32(p + 12, this.le), capLen);
    rec.tsA = v.getUint32(p, this.le);
    rec.tsB = v.getUint32(p + 4, this.le);
    rec.clock = this.clock;
    rec.fileOffset = r.offset;
    r.start += total;
    return PACKET;
  }

  private short(r: ChunkReader, n: number, what: string): number {
    if (!r.eof) {
      this.need = n;
      return NEED_MORE;
    }
    if (r.available === 0) return END;
    throw new CaptureError(this.file, r.offset, `${what} cut short: the file ends after ${r.available} of its ${n} bytes; the file is truncated`);
  }
}
