/**
 * Where the structure of a pcap or pcapng file lies: every header and
 * block boundary, and every field a reader trusts (magics, versions,
 * snaplens, record and block lengths, interface ids). Mutations aim at
 * these, so a few runs corrupt what matters instead of packet payloads.
 * Walks what is there and stops at the first thing that does not fit:
 * the layout of a damaged file is the layout up to its damage.
 */

export interface Field {
  readonly name: string;
  readonly offset: number;
  readonly width: 1 | 2 | 4;
  readonly le: boolean;
}

export interface Layout {
  readonly format: 'pcap' | 'pcapng' | 'unknown';
  /** Offsets where a header, record, block or packet starts or ends. */
  readonly boundaries: readonly number[];
  readonly fields: readonly Field[];
  /** Where each packet's bytes start (link, IP and TCP headers are near). */
  readonly packets: readonly number[];
}

function pcapLayout(b: Buffer): Layout {
  const magicLe = b.readUInt32LE(0);
  const le = magicLe === 0xa1b2c3d4 || magicLe === 0xa1b23c4d || magicLe === 0xa1b2cd34;
  const u32 = (at: number) => (le ? b.readUInt32LE(at) : b.readUInt32BE(at));
  const recordHeader = (le ? magicLe : b.readUInt32BE(0)) === 0xa1b2cd34 ? 24 : 16;
  const fields: Field[] = [
    { name: 'magic', offset: 0, width: 4, le },
    { name: 'version major', offset: 4, width: 2, le },
    { name: 'version minor', offset: 6, width: 2, le },
    { name: 'snaplen', offset: 16, width: 4, le },
    { name: 'link type', offset: 20, width: 4, le },
  ];
  const boundaries = [0, 4, 24];
  const packets: number[] = [];
  let at = 24;
  while (at + recordHeader <= b.length) {
    const capLen = u32(at + 8);
    fields.push(
      { name: `record@${at} seconds`, offset: at, width: 4, le },
      { name: `record@${at} fraction`, offset: at + 4, width: 4, le },
      { name: `record@${at} caplen`, offset: at + 8, width: 4, le },
      { name: `record@${at} origlen`, offset: at + 12, width: 4, le },
    );
    boundaries.push(at, at + 8, at + recordHeader);
    packets.push(at + recordHeader);
    at += recordHeader + capLen;
    if (at > b.length) break;
  }
  boundaries.push(b.length);
  return { format: 'pcap', boundaries, fields, packets };
}

function pcapngLayout(b: Buffer): Layout {
  const fields: Field[] = [];
  const boundaries: number[] = [0];
  const packets: number[] = [];
  let le = true;
  let at = 0;
  while (at + 12 <= b.length) {
    if (b.readUInt32LE(at) === 0x0a0d0d0a) le = b.readUInt32LE(at + 8) === 0x1a2b3c4d;
    const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const type = u32(at);
    const len = u32(at + 4);
    if (len < 12 || at + len > b.length) break;
    fields.push({ name: `block@${at} type`, offset: at, width: 4, le }, { name: `block@${at} length`, offset: at + 4, width: 4, le }, { name: `block@${at} trailing length`, offset: at + len - 4, width: 4, le });
    boundaries.push(at, at + 8, at + len - 4);
    if (type === 0x0a0d0d0a && len >= 28) {
      fields.push({ name: `section@${at} byte-order magic`, offset: at + 8, width: 4, le }, { name: `section@${at} major`, offset: at + 12, width: 2, le });
    } else if (type === 1 && len >= 20) {
      fields.push({ name: `interface@${at} link type`, offset: at + 8, width: 2, le }, { name: `interface@${at} snaplen`, offset: at + 12, width: 4, le });
      if (len > 24) fields.push({ name: `interface@${at} first option code`, offset: at + 16, width: 2, le }, { name: `interface@${at} first option length`, offset: at + 18, width: 2, le }, { name: `interface@${at} first option value`, offset: at + 20, width: 1, le });
    } else if ((type === 6 || type === 2) && len >= 32) {
      fields.push({ name: `packet@${at} interface`, offset: at + 8, width: type === 6 ? 4 : 2, le }, { name: `packet@${at} caplen`, offset: at + 20, width: 4, le }, { name: `packet@${at} origlen`, offset: at + 24, width: 4, le });
      packets.push(at + 28);
    } else if (type === 3 && len >= 16) {
      fields.push({ name: `simple packet@${at} origlen`, offset: at + 8, width: 4, le });
      packets.push(at + 12);
    }
    at += len;
  }
  boundaries.push(b.length);
  return { format: 'pcapng', boundaries, fields, packets };
}

export function captureLayout(b: Buffer): Layout {
  if (b.length >= 24 && [0xa1b2c3d4, 0xa1b23c4d, 0xa1b2cd34].some((m) => b.readUInt32LE(0) === m || b.readUInt32BE(0) === m)) return pcapLayout(b);
  if (b.length >= 12 && b.readUInt32LE(0) === 0x0a0d0d0a) return pcapngLayout(b);
  return { format: 'unknown', boundaries: [0, b.length], fields: [], packets: [] };
}

/** Writes `value` into a field (truncated to its width), in the field's byte order. */
export function setField(b: Buffer, f: Field, value: number): void {
  if (f.offset + f.width > b.length) return;
  const v = f.width === 4 ? value >>> 0 : f.width === 2 ? value & 0xffff : value & 0xff;
  if (f.width === 1) b[f.offset] = v;
  else if (f.width === 2) (f.le ? b.writeUInt16LE(v, f.offset) : b.writeUInt16BE(v, f.offset));
  else (f.le ? b.writeUInt32LE(v, f.offset) : b.writeUInt32BE(v, f.offset));
}
